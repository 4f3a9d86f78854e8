"""The member values of the scale data set as SQL expressions of the member id, written once
and rendered for SQLite (the system of record) and ClickHouse (the copy), so both hold the
same field values without a Python loop per member.

A value is drawn from ``draw(k)``: the id times a large odd multiplier plus an offset,
modulo a prime: integer arithmetic that SQLite and ClickHouse compute alike, spread evenly
enough for a benchmark. One value in ten is missing (a draw of its own), as in
``bench.dataset``; the ranges are that data set's (``bench.datagen``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .datagen import CITIES, COLORS, PLANS
from .dataset import DAY, NOW

_PRIME = 1_000_003
_MULTIPLIERS = (
    2_654_435_761, 2_246_822_519, 3_266_489_917, 668_265_263, 374_761_393,
    1_103_515_245, 1_664_525, 22_695_477, 1_140_671_485, 134_775_813,
    214_013, 2_531_011, 69_069, 1_812_433_253, 1_566_083_941,
    1_597_334_677, 3_812_015_801, 1_181_783_497, 2_891_336_453, 1_013_904_223,
    2_147_483_629, 1_220_703_125, 48_271, 16_807, 3_037_000_493,
    2_305_843_009, 741_103_597, 1_597_463_007,
)  # fmt: skip


@dataclass(frozen=True)
class Dialect:
    member_id: str  # the expression of the member id
    text: str  # how an integer becomes text: "{}" is the integer

    def draw(self, k: int) -> str:
        return f"(({self.member_id}) * {_MULTIPLIERS[k]} + {k * 7919}) % {_PRIME}"

    def pick(self, k: int, choices: tuple[str, ...]) -> str:
        # The searched form: 18.16 answers NULL for ``CASE x WHEN 0 ...`` (x UInt64).
        drawn = f"{self.draw(k)} % {len(choices)}"
        whens = " ".join(f"WHEN {drawn} = {i} THEN '{c}'" for i, c in enumerate(choices[:-1]))
        return f"CASE {whens} ELSE '{choices[-1]}' END"

    def maybe(self, k: int, value: str) -> str:
        """``value``, or NULL one time in ten (draws 10 to 19: none of the values')."""
        return f"CASE WHEN {self.draw(k + 10)} % 10 = 0 THEN NULL ELSE {value} END"

    def as_text(self, integer: str) -> str:
        return self.text.format(integer)


SQLITE = Dialect("id", "CAST({} AS TEXT)")


def clickhouse(member_id: str) -> Dialect:
    return Dialect(member_id, "toString({})")


def field_values(d: Dialect) -> dict[str, str]:
    """{field name: expression} for the ten fields of ``bench.datagen.FIELDS``."""
    return {
        "City": d.maybe(0, d.pick(0, CITIES)),
        "Company": d.maybe(1, f"'company ' || {d.as_text(f'1 + {d.draw(1)} % 5000')}"),
        "Age": d.maybe(2, f"18 + {d.draw(2)} % 73"),
        "Score": d.maybe(3, f"({d.draw(3)} % 10001) * 0.01"),
        "Joined": d.maybe(4, f"7305 + {d.draw(4)} % 12785"),  # 1990-01-01 .. 2024-12-31
        "Renewal": d.maybe(5, f"19723 + {d.draw(5)} % 1462"),  # 2024 .. 2027
        "Birthday": d.maybe(6, f"(1 + {d.draw(6)} % 12) * 100 + 1 + {d.draw(25)} % 28"),
        "Anniversary": d.maybe(7, f"(1 + {d.draw(7)} % 12) * 100 + 1 + {d.draw(26)} % 28"),
        "Color": d.maybe(8, d.pick(8, COLORS)),
        "Plan": d.maybe(9, d.pick(9, PLANS)),
    }


def system_values(d: Dialect) -> dict[str, str]:
    """{column: expression} of the members table's system columns (email aside)."""
    # A draw stays below the prime (about 1M): wide ranges are drawn as days plus seconds.
    created = f"({NOW} - ({d.draw(20)} % 1095) * {DAY} - {d.draw(21)} % {DAY})"
    return {
        "created_at": created,
        "updated_at": f"{created} + ({d.draw(22)} % 30) * {DAY}",
        "unsubscribed_at": f"CASE WHEN {d.draw(23)} % 20 = 0 THEN {created} + {DAY} ELSE NULL END",
    }
