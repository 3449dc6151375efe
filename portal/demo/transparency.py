"""Last demo step: sign a checkpoint over everything the earlier steps logged,
so that `tools/verify_log.py` can check the demo instance right away."""
from __future__ import annotations

from portal.audit.transparency import issue_checkpoint
from portal.demo import DemoContext


def load(ctx: DemoContext) -> None:
    checkpoint = issue_checkpoint()
    if checkpoint is not None:
        ctx.say(f"Prüfpunkt über {checkpoint.size} Protokolleinträge signiert.")
