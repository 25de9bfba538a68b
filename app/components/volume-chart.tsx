/**
 * Weekly volume as a bar chart drawn on the server (plain SVG, no script): requests received and completed per ISO
 * week, two bars a week. The SVG is an image with a title and a description; the same numbers follow in a table
 * (the text alternative, for screen readers and for anyone who wants the figures).
 */
import { DataTable } from "#app/components/data-table.tsx";

export type VolumeWeek = { isoWeek: string; monday: string; received: number; completed: number; partial: boolean };

const WIDTH = 720;
const HEIGHT = 260;
const PAD = { top: 16, right: 12, bottom: 44, left: 48 };
const COLORS = { received: "#0969da", completed: "#1a7f37" };

/** A round upper bound for the axis (1, 2 or 5 × a power of ten) and its tick step. */
export function axisScale(max: number): { top: number; step: number } {
  if (max <= 0) return { top: 1, step: 1 };
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const whole = Math.max(1, Math.round(step));
  return { top: Math.ceil(max / whole) * whole, step: whole };
}

export function VolumeChart({ weeks, id, caption }: { weeks: readonly VolumeWeek[]; id: string; caption: string }) {
  const max = Math.max(0, ...weeks.map((w) => Math.max(w.received, w.completed)));
  const { top, step } = axisScale(max);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = weeks.length > 0 ? plotW / weeks.length : plotW;
  const bar = Math.max(1, (slot * 0.8) / 2);
  const y = (n: number) => PAD.top + plotH - (n / top) * plotH;
  const ticks: number[] = [];
  for (let t = 0; t <= top; t += step) ticks.push(t);
  // At most ~12 week labels, whatever the period.
  const labelEvery = Math.max(1, Math.ceil(weeks.length / 12));
  const totalReceived = weeks.reduce((n, w) => n + w.received, 0);
  const totalCompleted = weeks.reduce((n, w) => n + w.completed, 0);
  const busiest = weeks.reduce<VolumeWeek | null>((b, w) => (b === null || w.received > b.received ? w : b), null);
  const description =
    weeks.length === 0
      ? "No weeks in this period."
      : `${weeks.length} ${weeks.length === 1 ? "week" : "weeks"} from ${weeks[0]!.isoWeek} to ${weeks[weeks.length - 1]!.isoWeek}: ` +
        `${totalReceived} requests received and ${totalCompleted} completed. ` +
        (busiest && busiest.received > 0 ? `Most received in ${busiest.isoWeek}: ${busiest.received}. ` : "") +
        "The table below gives every week's numbers.";

  return (
    <figure className="volume-chart" aria-labelledby={`${id}-caption`}>
      <figcaption id={`${id}-caption`}>{caption}</figcaption>
      <svg
        xmlns="http://www.w3.org/2000/svg"
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        width="100%"
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        data-testid="volume-chart"
      >
        <title id={`${id}-title`}>{caption}</title>
        <desc id={`${id}-desc`}>{description}</desc>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(t)} y2={y(t)} stroke="#d0d7de" strokeWidth={1} />
            <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" fontSize={11} fill="#57606a">
              {t}
            </text>
          </g>
        ))}
        {weeks.map((w, i) => {
          const x0 = PAD.left + i * slot + slot * 0.1;
          return (
            <g key={w.monday} data-week={w.isoWeek}>
              <rect x={x0} y={y(w.received)} width={bar} height={Math.max(0, y(0) - y(w.received))} fill={COLORS.received} data-received={w.received}>
                <title>{`${w.isoWeek}: ${w.received} received`}</title>
              </rect>
              <rect x={x0 + bar} y={y(w.completed)} width={bar} height={Math.max(0, y(0) - y(w.completed))} fill={COLORS.completed} data-completed={w.completed}>
                <title>{`${w.isoWeek}: ${w.completed} completed`}</title>
              </rect>
              {i % labelEvery === 0 ? (
                <text x={x0 + bar} y={HEIGHT - PAD.bottom + 16} textAnchor="middle" fontSize={11} fill="#57606a">
                  {w.isoWeek.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(0)} y2={y(0)} stroke="#57606a" strokeWidth={1} />
        <g aria-hidden="true">
          <rect x={PAD.left} y={HEIGHT - 18} width={10} height={10} fill={COLORS.received} />
          <text x={PAD.left + 14} y={HEIGHT - 9} fontSize={11} fill="#24292f">
            received
          </text>
          <rect x={PAD.left + 90} y={HEIGHT - 18} width={10} height={10} fill={COLORS.completed} />
          <text x={PAD.left + 104} y={HEIGHT - 9} fontSize={11} fill="#24292f">
            completed
          </text>
        </g>
      </svg>
      <DataTable
        caption={`${caption} — the chart's numbers`}
        columns={["ISO week", "Week starting (Monday)", "Received", "Completed"]}
        rows={weeks}
        row={(w) => (
          <tr key={w.monday}>
            <th scope="row">{w.partial ? `${w.isoWeek} (part of the week)` : w.isoWeek}</th>
            <td>{w.monday}</td>
            <td>{w.received}</td>
            <td>{w.completed}</td>
          </tr>
        )}
      />
    </figure>
  );
}
