// A small SVG line chart (no chart library): one or more series over the same x positions, with a y range.
export interface Series {
  name: string;
  values: (number | undefined)[];
  className: string;
}

export function LineChart({ title, labels, series, min, max, unit = '' }: { title: string; labels: string[]; series: Series[]; min: number; max: number; unit?: string }) {
  const width = 560;
  const height = 180;
  const pad = { left: 44, right: 12, top: 12, bottom: 28 };
  const x = (i: number) => pad.left + (labels.length <= 1 ? 0 : (i * (width - pad.left - pad.right)) / (labels.length - 1));
  const y = (v: number) => pad.top + ((max - v) * (height - pad.top - pad.bottom)) / (max - min || 1);
  const ticks = [min, (min + max) / 2, max];
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={pad.left} x2={width - pad.right} y1={y(t)} y2={y(t)} className="grid" />
            <text x={pad.left - 6} y={y(t) + 4} textAnchor="end" className="tick">
              {Number.isInteger(t) ? t : t.toFixed(1)}
              {unit}
            </text>
          </g>
        ))}
        {labels.map((label, i) => (
          <text key={`${label}-${i}`} x={x(i)} y={height - 8} textAnchor="middle" className="tick">
            {label}
          </text>
        ))}
        {series.map((s) => {
          const points = s.values.map((v, i) => (v === undefined ? undefined : `${x(i)},${y(v)}`)).filter(Boolean);
          return (
            <g key={s.name} className={s.className}>
              <polyline points={points.join(' ')} fill="none" />
              {s.values.map((v, i) => (v === undefined ? null : <circle key={i} cx={x(i)} cy={y(v)} r={3} />))}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {title}
        {series.length > 1 && (
          <span className="legend">
            {series.map((s) => (
              <span key={s.name} className={s.className}>
                {' '}
                ■ {s.name}
              </span>
            ))}
          </span>
        )}
      </figcaption>
    </figure>
  );
}
