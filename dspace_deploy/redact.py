"""Keep secrets out of everything dspace-deploy shows or keeps.

Tasks that handle secrets use `no_log`; this is the second line of defence. A `Redactor`
knows the site's secret values (from the decrypted vault) and replaces any occurrence in
text, in nested event data, and in the files of a run's artifact directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

MASK = "********"
# Values this short cannot be told apart from ordinary words; generated secrets are long.
_MIN_SECRET_LENGTH = 8


class Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        unique = {s for s in secrets if isinstance(s, str) and len(s) >= _MIN_SECRET_LENGTH}
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted(unique, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def data(self, value: Any) -> Any:
        """A copy of nested dicts/lists/strings with every secret masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value

    def scrub_tree(self, root: Path) -> list[Path]:
        """Rewrite every file under `root` that contains a secret; return those files."""
        if not self._secrets or not root.exists():
            return []
        needles = [s.encode() for s in self._secrets]
        touched: list[Path] = []
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            raw = path.read_bytes()
            if not any(n in raw for n in needles):
                continue
            for needle in needles:
                raw = raw.replace(needle, MASK.encode())
            path.write_bytes(raw)
            touched.append(path)
        return touched
