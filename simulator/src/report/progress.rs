//! A one-line progress display on stderr for long runs: the scenario, the phase (generating,
//! ingesting with a bar, checking), redrawn in place and never wider than the terminal, so
//! it never wraps onto a second line.

use std::io::Write;
use std::time::{Duration, Instant};

use super::format::{display_width, printable, si, time_of_day};

const BAR_WIDTH_MAX: usize = 30;
/// A bar narrower than this is left out.
const BAR_WIDTH_MIN: usize = 6;
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// Widest line drawn, whatever the terminal says.
const LINE_WIDTH_MAX: usize = 1024;

/// Where and how progress is drawn. Give it only when stderr is a terminal
/// (`std::io::IsTerminal`).
#[derive(Debug, Clone)]
pub struct ProgressOptions {
    /// Shown first on the line, for example `[2/9] chaos`.
    pub label: String,
    /// The terminal's width in columns, asked at every redraw (terminals get resized).
    pub width: fn() -> usize,
}

/// What is going on, as one line shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// `generating`, `ingesting`, `checking: fresh replay`, ...
    pub phase: String,
    /// Ingest progress, when the phase has a bar.
    pub bar: Option<ProgressBar>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressBar {
    pub done: u64,
    pub total: u64,
    /// Simulated time of the last delivery submitted.
    pub simulated_us: Option<i64>,
    pub elapsed_seconds: f64,
}

/// The display. A disabled one (no options) does nothing at all.
#[derive(Debug)]
pub struct Progress {
    opts: Option<ProgressOptions>,
    status: Status,
    started: Option<Instant>,
    last_draw: Option<Instant>,
    drawn: bool,
}

impl Progress {
    pub fn new(opts: Option<ProgressOptions>) -> Progress {
        Progress {
            opts,
            status: Status {
                phase: String::new(),
                bar: None,
            },
            started: None,
            last_draw: None,
            drawn: false,
        }
    }

    pub fn enabled(&self) -> bool {
        self.opts.is_some()
    }

    /// Enters a phase without a bar and draws it at once.
    pub fn phase(&mut self, phase: &str) {
        if !self.enabled() {
            return;
        }
        self.status = Status {
            phase: phase.to_string(),
            bar: None,
        };
        self.draw();
    }

    /// Enters the ingest phase: a bar over `total_events`.
    pub fn ingest(&mut self, total_events: u64) {
        if !self.enabled() {
            return;
        }
        self.started = Some(Instant::now());
        self.status = Status {
            phase: "ingesting".to_string(),
            bar: Some(ProgressBar {
                done: 0,
                total: total_events,
                simulated_us: None,
                elapsed_seconds: 0.0,
            }),
        };
        self.draw();
    }

    /// Records ingest progress; redraws when the last redraw is old enough (or at the end).
    pub fn update(&mut self, done_events: u64, simulated_us: i64) {
        let Some(started) = self.started else {
            return;
        };
        let Some(bar) = self.status.bar.as_mut() else {
            return;
        };
        let now = Instant::now();
        bar.done = done_events;
        bar.simulated_us = Some(simulated_us);
        bar.elapsed_seconds = now.duration_since(started).as_secs_f64();
        let due = self
            .last_draw
            .is_none_or(|at| now.duration_since(at) >= REDRAW_EVERY);
        if due || done_events >= bar.total {
            self.draw();
        }
    }

    /// Blanks the line (the report follows). Safe to call more than once.
    pub fn clear(&mut self) {
        if let Some(o) = &self.opts
            && self.drawn
        {
            let blank = " ".repeat(usable_width((o.width)()));
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{blank}\r");
            let _ = err.flush();
            self.drawn = false;
        }
    }

    fn draw(&mut self) {
        let Some(o) = &self.opts else {
            return;
        };
        let width = usable_width((o.width)());
        let line = Progress::line(&o.label, &self.status, width);
        let pad = " ".repeat(width.saturating_sub(display_width(&line)));
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}{pad}");
        let _ = err.flush();
        self.last_draw = Some(Instant::now());
        self.drawn = true;
    }

    /// The text of one redraw, at most `width` columns wide:
    /// `[2/9] chaos · ingesting  42% ████████░░░░ 1.2k/3.4k  250k ev/s  sim 10:42:07`.
    pub fn line(label: &str, status: &Status, width: usize) -> String {
        let mut head = printable(label).into_owned();
        if !status.phase.is_empty() {
            if !head.is_empty() {
                head.push_str(" · ");
            }
            head.push_str(&printable(&status.phase));
        }
        let Some(b) = &status.bar else {
            return fit(&head, width);
        };
        let fraction = if b.total == 0 {
            1.0
        } else {
            (b.done as f64 / b.total as f64).clamp(0.0, 1.0)
        };
        let pct = format!("{:>3}%", (fraction * 100.0).floor() as u64);
        let rate = if b.elapsed_seconds > 0.0 {
            format!("{} ev/s", si(b.done as f64 / b.elapsed_seconds))
        } else {
            "- ev/s".to_string()
        };
        let sim = b
            .simulated_us
            .map(|us| format!("  sim {}", time_of_day(us)))
            .unwrap_or_default();
        let tail = format!(
            "{}/{}  {rate:>10}{sim}",
            si(b.done as f64),
            si(b.total as f64)
        );
        let fixed = display_width(&head) + 2 + pct.len() + 1 + display_width(&tail) + 1;
        let bar_width = width.saturating_sub(fixed).min(BAR_WIDTH_MAX);
        let bar = if bar_width >= BAR_WIDTH_MIN {
            let filled = ((fraction * bar_width as f64).round() as usize).min(bar_width);
            format!("{}{} ", "█".repeat(filled), "░".repeat(bar_width - filled))
        } else {
            String::new()
        };
        fit(&format!("{head}  {pct} {bar}{tail}"), width)
    }
}

/// Columns a line may use: one less than the terminal's width, so that the cursor never
/// reaches the last column (some terminals wrap there).
fn usable_width(terminal_columns: usize) -> usize {
    terminal_columns.saturating_sub(1).min(LINE_WIDTH_MAX)
}

/// `s` cut to at most `width` columns, with `…` where it was cut.
fn fit(s: &str, width: usize) -> String {
    if display_width(s) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = display_width(c.encode_utf8(&mut [0; 4]));
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

impl Drop for Progress {
    fn drop(&mut self) {
        // Never leave a half-drawn line behind (an error ends the run early).
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingesting(done: u64, total: u64) -> Status {
        Status {
            phase: "ingesting".into(),
            bar: Some(ProgressBar {
                done,
                total,
                simulated_us: Some(10 * 3600 * 1_000_000 + 42),
                elapsed_seconds: 2.0,
            }),
        }
    }

    #[test]
    fn line_shows_label_phase_percent_bar_rate_and_time() {
        let l = Progress::line("[2/9] chaos", &ingesting(500, 1000), 120);
        assert!(l.starts_with("[2/9] chaos · ingesting   50% "), "{l}");
        assert!(l.contains("250 ev/s"), "{l}");
        assert!(l.contains("sim 10:00:00"), "{l}");
        assert_eq!(l.matches('█').count(), 15, "{l}");
        let l = Progress::line("x", &ingesting(0, 0), 120);
        assert!(l.contains("100% "), "{l}");
        let generating = Status {
            phase: "generating".into(),
            bar: None,
        };
        assert_eq!(
            Progress::line("[1/1] smoke", &generating, 80),
            "[1/1] smoke · generating"
        );
    }

    /// Whatever the width, the line fits it: it never wraps.
    #[test]
    fn line_fits_any_width() {
        let statuses = [
            ingesting(123_456, 9_999_999),
            Status {
                phase: "checking: shuffled digest".into(),
                bar: None,
            },
        ];
        for label in [
            "[12/40] peak-season",
            "繁忙な日 · пик",
            "bad\x1b[2Jname\r\n",
        ] {
            for s in &statuses {
                for width in 0..=160 {
                    let l = Progress::line(label, s, width);
                    assert!(display_width(&l) <= width, "{width}: {l:?}");
                    assert!(!l.chars().any(|c| c.is_control()), "{l:?}");
                }
            }
        }
        let wide = Progress::line("[12/40] peak-season", &statuses[0], 200);
        assert!(
            wide.contains(&"░".repeat(10)) && !wide.contains('…'),
            "{wide}"
        );
        let narrow = Progress::line("[12/40] peak-season", &statuses[0], 40);
        assert!(!narrow.contains('░') && narrow.ends_with('…'), "{narrow}");
    }

    #[test]
    fn disabled_does_nothing() {
        let mut p = Progress::new(None);
        p.phase("generating");
        p.ingest(10);
        p.update(5, 0);
        p.clear();
        assert!(p.started.is_none() && !p.drawn);
    }
}
