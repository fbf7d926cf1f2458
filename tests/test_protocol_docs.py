"""docs/protocol.md (normative) and protocol/messages.py (the code's table) say the same thing."""
import re
from pathlib import Path

from safehaven.protocol import messages as M
from safehaven.protocol.codec import frame_size

DOC = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text()


def test_message_tables_match_messages_py():
    sections = re.findall(r"^### (\w+) \(msg_type (\d+)\)\n(.*?)(?=^##)", DOC, re.M | re.S)
    assert {int(t): name for name, t, _ in sections} == {t: spec[0] for t, spec in M.MESSAGES.items()}
    for name, t, body in sections:
        rows = re.findall(r"^\| (\w+) \| (\w+) \| (\w+) \|", body, re.M)[1:]
        fields = [(f, c, 0 if s == "ASCII" else int(s)) for f, c, s in rows]
        assert tuple(fields) == M.MESSAGES[int(t)][1], name
        sizes = re.search(r"(\d+) bytes unsigned, (\d+) signed", body)
        assert sizes and (int(sizes[1]), int(sizes[2])) == (frame_size(int(t), False), frame_size(int(t), True))


def test_constants_in_the_spec_have_their_values():
    section = DOC[DOC.index("## 4. Constants"):DOC.index("## 5.")]
    pairs = re.findall(r"\b([A-Z][A-Z0-9_]{2,}) (0x[0-9A-Fa-f]+|\d+)\b", section)
    pairs += [(name, code) for code, name in re.findall(r"^\| (\d+) \| (CMD_\w+) \|", section, re.M)]
    assert len(pairs) > 50
    for name, value in pairs:
        assert getattr(M, name) == int(value, 0), name
