"""An accessibility check for the browser tests: axe-core (the npm package, pinned in
tests/browser_tools/, installed by `make browser`) run inside the page under test.

Why in the page: axe judges what the browser actually rendered (computed contrast, the
accessibility tree, focus order), which no HTML linter outside the page can see. The
tests fail on the impacts "serious" and "critical" (issues 15 and 16); the rest is
written beside the screenshots for a person to read.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
AXE_SCRIPT = ROOT / "tests" / "browser_tools" / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")


def axe_results(page: Any, context: Optional[str] = None) -> Dict[str, Any]:
    """axe-core's whole result for the page (or the part `context` selects), with the
    WCAG 2.1 A/AA rules and the best practices."""
    if not AXE_SCRIPT.exists():
        raise AssertionError(f"{AXE_SCRIPT} is missing: `make browser` installs axe-core")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluated through the browser's DevTools protocol, not as a script tag the page's
        # CSP would refuse (axe still adds inline styles while it checks: a tab that
        # checks accessibility is opened with bypass_csp)
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    return page.evaluate(
        """async (context) => await axe.run(context || document, {
             runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
             resultTypes: ['violations'],
           })""",
        context,
    )


def serious_violations(
    page: Any, report: Optional[Path] = None, context: Optional[str] = None
) -> List[str]:
    """One line per serious or critical violation (rule, impact, the elements); every
    violation is written to `report` (JSON) when given."""
    results = axe_results(page, context)
    violations = results.get("violations", [])
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(violations, ensure_ascii=False, indent=1), encoding="utf-8")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(_target(node["target"]) for node in v["nodes"][:5])
        for v in violations
        if v.get("impact") in FAILING_IMPACTS
    ]


def _target(target: Any) -> str:
    """axe's selector of an element; inside a shadow root it is a list of selectors
    (the host, then the element within), possibly nested."""
    if isinstance(target, list):
        return " >> ".join(_target(part) for part in target)
    return str(target)
