"""Write or check `digest/detect/anchors.json`: the words every match of each shipped
disclosure rule (and of each cue of the learned score) holds (`digest.detect.anchors`),
read once here rather than in every run.

    python bench/anchors_index.py --write   # after changing rules.toml
    python bench/anchors_index.py --check   # exit 1 if the file is not current
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digest.detect import anchors, disclosure

PATH = Path(anchors.__file__).with_name(anchors.INDEX)


def current() -> str:
    """The shipped rules' patterns and the learned score's cues (vocabulary entries)."""
    rules = [(rule.id, rule.regex) for rule in disclosure.load_rules()]
    cues = [(f"cue:{name}", cue) for name, cue in disclosure.shipped_model().cues]
    return anchors.index_json(rules + cues)


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        PATH.write_text(current(), "utf-8")
        print(f"wrote {PATH}")
        return 0
    if argv == ["--check"]:
        fresh = PATH.exists() and PATH.read_text("utf-8") == current()
        print("current" if fresh else f"{PATH.name} is stale: run --write")
        return 0 if fresh else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
