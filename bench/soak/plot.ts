// The soak's plot: a hand-made SVG of stacked panels sharing one time axis, each a set of
// polylines with its own y scale, grid and legend. No dependency; opens in any browser.

export interface Series {
  name: string
  color: string
  /** [seconds, value] points; NaN values are skipped. */
  points: [number, number][]
}

export interface Panel {
  title: string
  unit: string
  series: Series[]
  /** A horizontal line (a target), drawn dashed. */
  target?: { value: number; label: string }
  /** Lower bound of the y axis (default 0). */
  min?: number
}

const W = 900
const PANEL_H = 170
const LEFT = 70
const RIGHT = 20
const TOP = 50
const GAP = 40

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** A round step for about `n` grid lines over `span`. */
function niceStep(span: number, n: number): number {
  const raw = span / n
  const mag = 10 ** Math.floor(Math.log10(raw || 1))
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * mag) return m * mag
  return 10 * mag
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(0)}k`
  return Number.isInteger(v) ? String(v) : v.toFixed(1)
}

/** Renders the panels over `[0, seconds]` with `title` on top and `notes` as footer lines. */
export function renderSvg(
  title: string,
  panels: Panel[],
  seconds: number,
  notes: string[],
): string {
  const height = TOP + panels.length * (PANEL_H + GAP) + 20 + notes.length * 16
  const plotW = W - LEFT - RIGHT
  const x = (t: number) => LEFT + (t / Math.max(1, seconds)) * plotW
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="11" role="img">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ]
  const tStep = niceStep(seconds, 10)
  panels.forEach((p, i) => {
    const top = TOP + i * (PANEL_H + GAP)
    const bottom = top + PANEL_H
    let hi = Number.NEGATIVE_INFINITY
    for (const s of p.series)
      for (const [, v] of s.points) if (Number.isFinite(v)) hi = Math.max(hi, v)
    if (p.target) hi = Math.max(hi, p.target.value)
    const lo = p.min ?? 0
    if (!Number.isFinite(hi) || hi <= lo) hi = lo + 1
    const step = niceStep(hi - lo, 4)
    hi = lo + Math.ceil((hi - lo) / step) * step
    const y = (v: number) => bottom - ((v - lo) / (hi - lo)) * PANEL_H
    out.push(
      `<text x="${LEFT}" y="${top - 8}" font-size="12" font-weight="bold">${esc(p.title)} (${esc(p.unit)})</text>`,
    )
    for (let v = lo; v <= hi + step / 2; v += step) {
      out.push(
        `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e4e4e4"/>`,
      )
      out.push(
        `<text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmt(v)}</text>`,
      )
    }
    for (let t = 0; t <= seconds; t += tStep) {
      out.push(
        `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top}" y2="${bottom}" stroke="#f0f0f0"/>`,
      )
      out.push(
        `<text x="${x(t).toFixed(1)}" y="${bottom + 14}" text-anchor="middle" fill="#555">${fmt(t)}s</text>`,
      )
    }
    out.push(
      `<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#999"/>`,
    )
    if (p.target) {
      const ty = y(p.target.value).toFixed(1)
      out.push(
        `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${ty}" y2="${ty}" stroke="#c00" stroke-dasharray="6 4"/>`,
      )
      out.push(
        `<text x="${W - RIGHT - 4}" y="${Number(ty) - 4}" text-anchor="end" fill="#c00">${esc(p.target.label)}</text>`,
      )
    }
    p.series.forEach((s, k) => {
      const pts = s.points
        .filter(([, v]) => Number.isFinite(v))
        .map(([t, v]) => `${x(t).toFixed(1)},${y(Math.min(hi, Math.max(lo, v))).toFixed(1)}`)
      if (pts.length > 0) {
        out.push(
          `<polyline fill="none" stroke="${s.color}" stroke-width="1.3" points="${pts.join(' ')}"/>`,
        )
      }
      const lx = LEFT + 8 + k * 170
      out.push(`<rect x="${lx}" y="${top + 6}" width="10" height="10" fill="${s.color}"/>`)
      out.push(`<text x="${lx + 14}" y="${top + 15}">${esc(s.name)}</text>`)
    })
  })
  notes.forEach((n, i) => {
    out.push(
      `<text x="${LEFT}" y="${TOP + panels.length * (PANEL_H + GAP) + 4 + i * 16}" fill="#333">${esc(n)}</text>`,
    )
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
