"""The 12345 reference data of work orders: categories (with their deadline, keywords and
default department) and departments, read from data/reference/work_order_categories.yml
and data/reference/departments.yml and checked against
bot/handoff/work_order_data.schema.yml plus what a schema cannot say (ids and names used
once, every category's department listed, the fallback category `other` present).

    python -m bot.handoff.taxonomy        # prints every problem of the two files
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bot.validation import Problem, Problems, Schema, check_file, child_name, repeated

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
SCHEMA = Schema(HERE / "work_order_data.schema.yml")
CATEGORIES_FILE = ROOT / "data" / "reference" / "work_order_categories.yml"
DEPARTMENTS_FILE = ROOT / "data" / "reference" / "departments.yml"
#: The category suggested when no keyword matches.
FALLBACK = "other"


@dataclass(frozen=True)
class Department:
    name: str
    duty: str = ""


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    department: str
    keywords: Tuple[str, ...]
    working_days: Optional[int] = None  # one of these two
    hours: Optional[int] = None

    @property
    def deadline_text(self) -> str:
        return f"{self.working_days}个工作日" if self.working_days else f"{self.hours}小时"


@dataclass(frozen=True)
class Taxonomy:
    categories: Tuple[Category, ...]
    departments: Tuple[Department, ...]

    def category(self, ident: str) -> Optional[Category]:
        return next((c for c in self.categories if c.id == ident), None)

    def department(self, name: str) -> Optional[Department]:
        return next((d for d in self.departments if d.name == name), None)

    def public(self) -> Dict[str, Any]:
        """For the desk's page: the choices of 分类 and 派单."""
        return {
            "categories": [{"id": c.id, "name": c.name, "department": c.department,
                            "deadline": c.deadline_text} for c in self.categories],
            "departments": [{"name": d.name, "duty": d.duty} for d in self.departments],
        }


class InvalidTaxonomy(ValueError):
    def __init__(self, problems: List[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _items(data: Any, key: str, problems: Problems) -> List[Any]:
    if not isinstance(data, dict):
        return []
    if key not in data:
        problems.fail("", f"must list the {key} (`{key}:`)")
        return []
    for other in ("categories", "departments"):
        if other != key and other in data:
            problems.fail(other, f"belongs in the {other} file, not here")
    items = data.get(key)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _unique(items: List[Tuple[int, Any]], what: str, field: str, key: str,
            problems: Problems) -> None:
    named = [(i, item) for i, item in items if isinstance(item.get(field), str)]
    for (index, item), _ in repeated(named, lambda pair: pair[1][field]):
        problems.fail(f"{child_name(key, index, item)}.{field}",
                      f"duplicate {what} {field} {item[field]!r}")


def check(categories_file: Path = CATEGORIES_FILE, departments_file: Path = DEPARTMENTS_FILE
          ) -> Tuple[Optional[Taxonomy], List[Problem]]:
    """The taxonomy and every problem of both files (the taxonomy None when any)."""
    dep_data, dep_problems = check_file(departments_file, SCHEMA)
    departments = _items(dep_data, "departments", dep_problems)
    _unique(list(enumerate(departments)), "department", "name", "departments", dep_problems)
    cat_data, cat_problems = check_file(categories_file, SCHEMA)
    raw = (cat_data or {}).get("categories") if isinstance(cat_data, dict) else None
    indexed = ([(i, c) for i, c in enumerate(raw) if isinstance(c, dict)]
               if isinstance(raw, list) else [])
    _items(cat_data, "categories", cat_problems)
    _unique(indexed, "category", "id", "categories", cat_problems)
    _unique(indexed, "category", "name", "categories", cat_problems)
    known = {d.get("name") for d in departments}
    for index, item in indexed:
        name = item.get("department")
        if isinstance(name, str) and departments and name not in known:
            cat_problems.fail(f"{child_name('categories', index, item)}.department",
                              f"{name!r} is not in {departments_file.name}")
    if indexed and not any(item.get("id") == FALLBACK for _, item in indexed):
        cat_problems.fail("categories", f"needs the category {FALLBACK!r} (suggested when "
                                        "no keyword matches)")
    problems = dep_problems.by_line() + cat_problems.by_line()
    if problems:
        return None, problems
    return Taxonomy(
        categories=tuple(Category(
            id=c["id"], name=c["name"], department=c["department"],
            keywords=tuple(c["keywords"]), working_days=c["deadline"].get("working_days"),
            hours=c["deadline"].get("hours")) for _, c in indexed),
        departments=tuple(Department(d["name"], d.get("duty", "")) for d in departments),
    ), []


@lru_cache(maxsize=4)
def load(categories_file: Path = CATEGORIES_FILE, departments_file: Path = DEPARTMENTS_FILE
         ) -> Taxonomy:
    """The checked taxonomy; InvalidTaxonomy with every problem otherwise."""
    taxonomy, problems = check(categories_file, departments_file)
    if taxonomy is None:
        raise InvalidTaxonomy(problems)
    return taxonomy


def main() -> int:
    _, problems = check()
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)" if problems else "ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
