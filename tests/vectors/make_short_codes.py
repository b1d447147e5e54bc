"""Write tests/vectors/short_codes.json: confirmation codes with their short forms, and typed
texts with what they read as, from e2e/shortcode.py (checked again by Python and by Node)."""

from __future__ import annotations

import hashlib
import json
import pathlib

from e2e.shortcode import parse, short

FILE = pathlib.Path(__file__).with_name("short_codes.json")
WIDE = str.maketrans("0123456789ABCDEF", "０１２３４５６７８９ＡＢＣＤＥＦ")  # an IME's full width


def vectors() -> dict:
    codes = [bytes(32), b"\xff" * 32, bytes(range(1, 33))]
    codes += [hashlib.sha256(f"tohyo short code {i}".encode()).digest() for i in range(8)]
    full = codes[-1].hex()
    s = short(codes[-1])
    inputs = [
        full,
        full.upper(),
        " ".join(full[i : i + 4] for i in range(0, 64, 4)),
        "-".join(full[i : i + 8] for i in range(0, 64, 8)).upper(),
        full[:10].upper().translate(WIDE) + full[10:],
        "\u3000".join(full[i : i + 16] for i in range(0, 64, 16)),
        "ー".join([full[:32], full[32:]]),
        "－".join([full[:32], full[32:]]),
        "\u2212".join([full[:32], full[32:]]),
        s,
        s.lower(),
        s.replace("-", ""),
        " " + s.replace("-", " ") + " ",
        s.replace("-", "・"),
        "0OIL-1ABC",
        "oil0-abcd",
        "ABCU-0000",
        "ABC-DEFG",
        "ABCD-EFGHJ",
        full[:63],
        full + "0",
        "",
        "   ",
        full[:63] + "g",
    ]

    def read(text: str) -> dict:
        p = parse(text)
        if p is None:
            return {"input": text, "kind": None, "value": None}
        value = p.full.hex() if p.full is not None else p.short
        return {"input": text, "kind": p.kind, "value": value}

    return {
        "codes": [{"code": c.hex(), "short": short(c), "prefix": c[:5].hex()} for c in codes],
        "inputs": [read(t) for t in inputs],
    }


def main() -> None:
    FILE.write_text(json.dumps(vectors(), indent=1, sort_keys=True, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
