// Character counter for bid answers: an enhancement only. Without JavaScript
// the hint "Höchstens N Zeichen." stays and the server checks the limit.
(function () {
  "use strict";
  var lang = document.documentElement.lang;
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var limit = parseInt(area.getAttribute("data-counter"), 10);
    var output = document.getElementById(area.id + "-counter");
    if (!output || !limit) { return; }
    var update = function () {
      var left = limit - area.value.length;
      output.textContent = lang === "en"
        ? left + " of " + limit + " characters left."
        : "Noch " + left + " von " + limit + " Zeichen.";
    };
    area.addEventListener("input", update);
    update();
  });
})();
