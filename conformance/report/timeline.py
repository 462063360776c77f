"""The timeline picture: one inline SVG per exchange, no external assets.

Event arrivals as ticks on a time axis, with the moments a user feels marked: headers,
first event, first content, end; the longest gap is shaded.
"""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, HEIGHT, PAD = 640, 76, 12


def timeline_svg(arrivals: list[float], timing: dict[str, Any] | None) -> str:
    if not arrivals or not timing:
        return '<p class="sse-muted">No arrival times (a recording without timing).</p>'
    total = max(float(timing.get("total") or 0.0), arrivals[-1], 1e-6)
    span = WIDTH - 2 * PAD

    def x(t: float) -> float:
        return PAD + span * max(0.0, t) / total

    parts = [
        f'<svg class="sse-timeline" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>event arrivals over {total:.3f} s</title>',
        f'<line x1="{PAD}" y1="40" x2="{WIDTH - PAD}" y2="40" stroke="#999"/>',
    ]
    gaps = [(b - a, a, b) for a, b in zip(arrivals, arrivals[1:])]
    if gaps:
        width, a, b = max(gaps)
        if width > 0.05 * total:
            parts.append(f'<rect x="{x(a):.1f}" y="28" width="{max(1.0, x(b) - x(a)):.1f}" height="24" fill="#fde2b4"><title>longest gap {width * 1000:.0f} ms</title></rect>')
    for t in arrivals:
        parts.append(f'<line x1="{x(t):.1f}" y1="31" x2="{x(t):.1f}" y2="49" stroke="#2b6cb0" stroke-width="1"/>')
    marks: list[tuple[str, float | None, str]] = [("headers", timing.get("headers"), "#718096"), ("first event", timing.get("first_event"), "#2b6cb0"),
             ("first content", timing.get("first_content"), "#2f855a"), ("end", total, "#1a202c")]
    legend_x = PAD
    for label, at, color in marks:
        if at is None:
            continue
        # a dashed marker on the axis, and its label in a legend row: labels never overlap
        parts.append(f'<line x1="{x(at):.1f}" y1="22" x2="{x(at):.1f}" y2="58" stroke="{color}" stroke-width="2" stroke-dasharray="3,2"/>')
        text = f"{label} {at * 1000:.0f} ms"
        parts.append(f'<rect x="{legend_x}" y="63" width="10" height="3" fill="{color}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="69" font-size="10" fill="{color}">{escape(text)}</text>')
        legend_x += 14 + 6 * len(text) + 14
    parts.append(f'<text x="{PAD}" y="14" font-size="10" fill="#555">{len(arrivals)} event arrivals over {total * 1000:.0f} ms</text>')
    parts.append("</svg>")
    return "".join(parts)
