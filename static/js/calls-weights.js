// Running total of criterion weights while typing (the server shows it too).
(function () {
  var total = document.getElementById("weight-total");
  var input = document.getElementById("weight");
  if (!total || !input) { return; }
  var others = parseFloat(total.getAttribute("data-others")) || 0;
  var de = document.documentElement.lang !== "en";
  function format(n) { var s = (Math.round(n * 100) / 100).toString(); return de ? s.replace(".", ",") : s; }
  function update() {
    var value = parseFloat((input.value || "0").replace(/\./g, "").replace(",", ".")) || 0;
    if (input.value.indexOf(",") === -1) { value = parseFloat(input.value) || 0; }
    var sum = others + value;
    total.textContent = de
      ? "Summe mit diesem Kriterium: " + format(sum) + " % (genau 100 % sind nötig)."
      : "Total including this criterion: " + format(sum) + " % (exactly 100 % required).";
  }
  input.addEventListener("input", update);
})();
