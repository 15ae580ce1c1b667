//! The SVG plots of a bench run (plotters, SVG backend: no font files needed).

use anyhow::Result;
use plotters::prelude::*;
use std::path::Path;

use super::stats::{fmt_count, fmt_ns, Results, Stat};

fn plot_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("plot: {e}")
}

/// Bars (median) with min–max whiskers.
fn bar_chart(path: &Path, title: &str, y_desc: &str, bars: &[(String, Stat)]) -> Result<()> {
    if bars.is_empty() {
        return Ok(());
    }
    let width = (130 * bars.len() as u32 + 160).max(700);
    let root = SVGBackend::new(path, (width, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let ymax = bars.iter().map(|b| b.1.max).fold(0.0, f64::max) * 1.15;
    let n = bars.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d((0..n).into_segmented(), 0f64..ymax)
        .map_err(plot_err)?;
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(y_desc)
        .x_labels(n)
        .x_label_style(("sans-serif", 12))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                labels.get(*i).cloned().unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        })
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (l, s))| {
            let color = if l.contains("kcompletion")
                || l.contains("klua")
                || l.starts_with("lua")
                || l.contains("complete-and-wait")
            {
                RGBColor(0xd9, 0x5f, 0x02)
            } else {
                RGBColor(0x1b, 0x9e, 0x77)
            };
            let mut r = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), s.median),
                ],
                color.filled(),
            );
            r.set_margin(0, 0, 12, 12);
            r
        }))
        .map_err(plot_err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, s))| {
            PathElement::new(
                vec![
                    (SegmentValue::CenterOf(i), s.min),
                    (SegmentValue::CenterOf(i), s.max),
                ],
                BLACK.stroke_width(2),
            )
        }))
        .map_err(plot_err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, s))| {
            Text::new(
                fmt_ns(s.median),
                (SegmentValue::CenterOf(i), s.median + ymax * 0.02),
                ("sans-serif", 13),
            )
        }))
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// Lines over a logarithmic x axis, one per series, with min–max whiskers.
fn line_chart(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[(String, Vec<(f64, Stat)>)],
) -> Result<()> {
    let pts: Vec<&(f64, Stat)> = series.iter().flat_map(|s| s.1.iter()).collect();
    if pts.is_empty() {
        return Ok(());
    }
    let xmin = pts.iter().map(|p| p.0).fold(f64::MAX, f64::min);
    let xmax = pts.iter().map(|p| p.0).fold(0.0, f64::max);
    let ymax = pts.iter().map(|p| p.1.max).fold(0.0, f64::max) * 1.15;
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((xmin * 0.8..xmax * 1.25).log_scale(), 0f64..ymax)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| fmt_count(x.round() as u64))
        .draw()
        .map_err(plot_err)?;
    let colors = [
        RGBColor(0xd9, 0x5f, 0x02),
        RGBColor(0x1b, 0x9e, 0x77),
        RGBColor(0x75, 0x70, 0xb3),
        RGBColor(0xe7, 0x29, 0x8a),
    ];
    for (i, (name, p)) in series.iter().enumerate() {
        let c = colors[i % colors.len()];
        chart
            .draw_series(LineSeries::new(
                p.iter().map(|(x, s)| (*x, s.median)),
                c.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_series(
                p.iter()
                    .map(|(x, s)| Circle::new((*x, s.median), 4, c.filled())),
            )
            .map_err(plot_err)?;
        chart
            .draw_series(
                p.iter().map(|(x, s)| {
                    PathElement::new(vec![(*x, s.min), (*x, s.max)], c.stroke_width(1))
                }),
            )
            .map_err(plot_err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// The plots written so far into one folder, all with the same y axis.
struct Plots<'a> {
    dir: &'a Path,
    y_desc: String,
    files: Vec<String>,
}

impl Plots<'_> {
    /// A bar chart `file`, unless there are no bars.
    fn bars(&mut self, file: &str, title: &str, bars: &[(String, Stat)]) -> Result<()> {
        if !bars.is_empty() {
            bar_chart(&self.dir.join(file), title, &self.y_desc, bars)?;
            self.files.push(file.into());
        }
        Ok(())
    }

    /// A line chart `file`, unless no series has a point.
    fn lines(
        &mut self,
        file: &str,
        title: &str,
        x_desc: &str,
        series: &[(String, Vec<(f64, Stat)>)],
    ) -> Result<()> {
        if series.iter().any(|s| !s.1.is_empty()) {
            line_chart(&self.dir.join(file), title, x_desc, &self.y_desc, series)?;
            self.files.push(file.into());
        }
        Ok(())
    }
}

/// Writes the SVG plots into `dir`; returns their file names.
pub fn plots(res: &Results, dir: &Path, clock: &str) -> Result<Vec<String>> {
    let mut out = Plots {
        dir,
        y_desc: format!("ns ({clock})"),
        files: Vec::new(),
    };
    let p1: Vec<(String, Stat)> = ["threads", "processes"]
        .iter()
        .flat_map(|case| {
            ["kcompletion", "eventfd", "futex", "pipe"]
                .iter()
                .filter_map(move |m| {
                    res.get("P1", case, m, 0)
                        .map(|s| (format!("{m} ({case})"), s))
                })
        })
        .collect();
    out.bars("p1.svg", "P1: round trip through two objects", &p1)?;
    let p2: Vec<(String, Stat)> = [
        ("rust-rust", "P1 Rust ↔ Rust (processes)"),
        ("rust-klua", "Rust ↔ kernel Lua"),
        ("lua-klua", "Lua 5.4 ↔ kernel Lua"),
        ("rust-klua-caw", "Rust ↔ kernel Lua, complete_and_wait"),
        ("lua-klua-caw", "Lua 5.4 ↔ kernel Lua, complete_and_wait"),
    ]
    .iter()
    .filter_map(|(m, l)| res.get("P2", "roundtrip", m, 0).map(|s| (l.to_string(), s)))
    .collect();
    out.bars("p2.svg", "P2: round trip with a kernel Lua script", &p2)?;
    let p3: Vec<(String, Vec<(f64, Stat)>)> = ["kcompletion", "futex", "eventfd-epoll"]
        .iter()
        .map(|m| (m.to_string(), res.points("P3", "wake-all", m)))
        .collect();
    out.lines(
        "p3.svg",
        "P3: wake all waiters, time until the last one runs",
        "waiters",
        &p3,
    )?;
    let p4: Vec<(String, Vec<(f64, Stat)>)> = ["create", "open", "unlink"]
        .iter()
        .map(|op| {
            (
                format!("{op} (per operation)"),
                res.points("P4", op, "kcompletion"),
            )
        })
        .collect();
    out.lines(
        "p4.svg",
        "P4: cost per operation as the registry grows",
        "live named objects",
        &p4,
    )?;
    let p6: Vec<(String, Stat)> = [
        ("rust-ioctl", "Rust raw ioctls"),
        ("lua5.4", "Lua 5.4 binding"),
        ("floor-lua5.4", "Lua 5.4 C floor"),
        ("lua5.1", "Lua 5.1 binding"),
        ("floor-lua5.1", "Lua 5.1 C floor"),
        ("luajit", "LuaJIT binding"),
        ("floor-luajit", "LuaJIT C floor"),
    ]
    .iter()
    .filter_map(|(m, l)| {
        res.get("P6", "complete+trywait", m, 0)
            .map(|s| (l.to_string(), s))
    })
    .collect();
    out.bars("p6.svg", "P6: complete() + trywait(), per iteration", &p6)?;
    let p9: Vec<(String, Stat)> = ["threads", "processes"]
        .iter()
        .flat_map(|case| {
            ["kc-complete-and-wait", "kcompletion", "eventfd", "futex"]
                .iter()
                .filter_map(move |m| {
                    res.get("P9", case, m, 0)
                        .map(|s| (format!("{m} ({case})"), s))
                })
        })
        .collect();
    out.bars(
        "p9.svg",
        "P9: round trip, COMPLETE_AND_WAIT vs two calls (same vCPU)",
        &p9,
    )?;
    Ok(out.files)
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::parse::parse;

    #[test]
    fn plots_render() {
        let mut out = String::new();
        for (i, m) in ["kcompletion", "eventfd", "futex", "pipe"]
            .iter()
            .enumerate()
        {
            for case in ["threads", "processes"] {
                out += &format!(
                    "KCB scenario=P1 case={case} mech={m} param=0 rep=0 value={}.0 unit=ns\n",
                    5000 + i * 300
                );
            }
        }
        for (i, n) in [1000u64, 10_000, 100_000, 1_000_000].iter().enumerate() {
            for op in ["create", "open", "unlink"] {
                for rep in 0..3 {
                    out += &format!(
                        "KCB scenario=P4 case={op} mech=kcompletion param={n} rep={rep} value={}.0 unit=ns\n",
                        1000 + i * 50 + rep * 10
                    );
                }
            }
        }
        for n in [10u64, 100, 1000] {
            for m in ["kcompletion", "futex", "eventfd-epoll"] {
                out += &format!(
                    "KCB scenario=P3 case=wake-all mech={m} param={n} rep=0 value={}.0 unit=ns\n",
                    n * 900
                );
            }
        }
        let res = Results::new(parse(&out));
        let dir = std::env::temp_dir().join(format!("kc-bench-plots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = plots(&res, &dir, "icount").unwrap();
        assert_eq!(files, vec!["p1.svg", "p3.svg", "p4.svg"]);
        let svg = std::fs::read_to_string(dir.join("p4.svg")).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("open (per operation)"),
            "{svg}"
        );
        if std::env::var_os("KC_KEEP_PLOTS").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
