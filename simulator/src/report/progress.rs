//! A one-line progress bar on stderr for long runs.

use std::io::Write;
use std::time::{Duration, Instant};

use super::format::{si, time_of_day};

const BAR_WIDTH: usize = 30;
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// Percent, a bar, events/s and the simulated time of day, redrawn in place on stderr at most
/// about ten times a second. A disabled progress bar does nothing at all; enable it only when
/// stderr is a terminal (`std::io::IsTerminal`).
#[derive(Debug)]
pub struct Progress {
    total: u64,
    enabled: bool,
    started: Option<Instant>,
    last_draw: Option<Instant>,
    done: u64,
    simulated_us: Option<i64>,
    /// Width of the last line drawn, to blank leftovers of a longer line.
    drawn_width: usize,
    finished: bool,
}

impl Progress {
    pub fn new(total_events: u64, enabled: bool) -> Progress {
        Progress {
            total: total_events,
            enabled,
            started: None,
            last_draw: None,
            done: 0,
            simulated_us: None,
            drawn_width: 0,
            finished: false,
        }
    }

    /// Records progress; redraws when the last redraw is old enough (or on the last event).
    pub fn update(&mut self, done_events: u64, simulated_us: i64) {
        if !self.enabled || self.finished {
            return;
        }
        let now = Instant::now();
        let started = *self.started.get_or_insert(now);
        self.done = done_events;
        self.simulated_us = Some(simulated_us);
        let due = match self.last_draw {
            None => true,
            Some(at) => now.duration_since(at) >= REDRAW_EVERY,
        };
        if due || (self.total > 0 && done_events >= self.total) {
            self.last_draw = Some(now);
            let line = Progress::line(
                self.done,
                self.total,
                self.simulated_us,
                now.duration_since(started).as_secs_f64(),
            );
            self.draw(&line, false);
        }
    }

    /// Draws the final state and ends the line. Safe to call more than once.
    pub fn finish(&mut self) {
        if !self.enabled || self.finished {
            return;
        }
        self.finished = true;
        if self.started.is_none() {
            return;
        }
        let elapsed = self
            .started
            .map(|s| s.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        let line = Progress::line(self.done, self.total, self.simulated_us, elapsed);
        self.draw(&line, true);
    }

    fn draw(&mut self, line: &str, end: bool) {
        let w = line.chars().count();
        let blank = " ".repeat(self.drawn_width.saturating_sub(w));
        self.drawn_width = w;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}{blank}{}", if end { "\n" } else { "" });
        let _ = err.flush();
    }

    /// The text of one redraw: ` 42% [############··················]  1.2M ev/s  sim 10:42:07`.
    pub fn line(done: u64, total: u64, simulated_us: Option<i64>, elapsed_seconds: f64) -> String {
        let fraction = if total == 0 {
            1.0
        } else {
            (done as f64 / total as f64).clamp(0.0, 1.0)
        };
        let filled = ((fraction * BAR_WIDTH as f64).round() as usize).min(BAR_WIDTH);
        let bar = format!("{}{}", "█".repeat(filled), "░".repeat(BAR_WIDTH - filled));
        let rate = if elapsed_seconds > 0.0 {
            format!("{} ev/s", si(done as f64 / elapsed_seconds))
        } else {
            "- ev/s".to_string()
        };
        let sim = simulated_us
            .map(|us| format!("  sim {}", time_of_day(us)))
            .unwrap_or_default();
        format!(
            "{:>3}% {bar} {}/{}  {rate:>10}{sim}",
            (fraction * 100.0).floor() as u64,
            si(done as f64),
            si(total as f64),
        )
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // Never leave the cursor at the end of a half-drawn bar.
        if self.enabled && !self.finished && self.drawn_width > 0 {
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_percent_bar_rate_and_time() {
        let l = Progress::line(500, 1000, Some(10 * 3600 * 1_000_000 + 42), 2.0);
        assert!(l.starts_with(" 50% "), "{l}");
        assert!(l.contains("250 ev/s"), "{l}");
        assert!(l.contains("sim 10:00:00"), "{l}");
        assert_eq!(l.matches('█').count(), 15);
        let l = Progress::line(0, 0, None, 0.0);
        assert!(l.starts_with("100% "), "{l}");
    }

    #[test]
    fn disabled_does_nothing() {
        let mut p = Progress::new(10, false);
        p.update(5, 0);
        p.finish();
        assert!(p.started.is_none());
    }
}
