//! Several runs at once, for QA in CI: the summary table printed after them, and the JUnit XML
//! file CI systems read (one test suite per scenario, one test case per check).

use super::Report;
use super::format::{display_width, printable, thousands, wall};

/// One scenario file of a suite and how its run ended.
#[derive(Debug, Clone)]
pub struct SuiteRun {
    /// The scenario file as named on the command line.
    pub file: String,
    /// The report, or the error that stopped the run (one line).
    pub outcome: Result<Report, String>,
}

impl SuiteRun {
    /// The scenario's name (the file's when the run stopped before it had a report).
    pub fn name(&self) -> &str {
        match &self.outcome {
            Ok(r) => &r.scenario,
            Err(_) => &self.file,
        }
    }
}

fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(display_width(s))))
}

/// The table after several runs: one line per scenario, then how many passed.
pub fn summary(runs: &[SuiteRun], color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let names: Vec<String> = runs
        .iter()
        .map(|r| printable(r.name()).into_owned())
        .collect();
    let name_w = names.iter().map(|n| display_width(n)).max().unwrap_or(0);
    let mut out = format!(
        "\n  {}\n",
        paint("1", &format!("summary of {} scenarios", runs.len()))
    );
    for (run, name) in runs.iter().zip(&names) {
        let line = match &run.outcome {
            Ok(r) => {
                let passed = r.checks.iter().filter(|c| c.passed).count();
                let t = &r.throughput;
                let seconds = t.generate_seconds + t.wall_seconds + t.check_seconds;
                let mut line = format!(
                    "{} {}  {}  {:>7} checks  {:>12} events  {:>8}",
                    if r.ok() {
                        paint("32", "✓")
                    } else {
                        paint("31", "✗")
                    },
                    pad(name, name_w),
                    if r.ok() {
                        paint("32", "PASSED")
                    } else {
                        paint("31", "FAILED")
                    },
                    format!("{passed}/{}", r.checks.len()),
                    thousands(r.counters.received),
                    wall(seconds),
                );
                let failed = r.failed_checks();
                if !failed.is_empty() {
                    line.push_str(&format!("  failed: {}", failed.join(", ")));
                }
                line
            }
            Err(e) => format!(
                "{} {}  {}  {}",
                paint("31", "!"),
                pad(name, name_w),
                paint("31", "ERROR "),
                printable(e)
            ),
        };
        out.push_str("    ");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let passed = runs
        .iter()
        .filter(|r| r.outcome.as_ref().is_ok_and(Report::ok))
        .count();
    let verdict = format!("{passed} of {} scenarios passed", runs.len());
    let all = passed == runs.len();
    out.push('\n');
    out.push_str(&format!(
        "  {}\n",
        paint(if all { "1;32" } else { "1;31" }, &verdict)
    ));
    out
}

/// Text for XML: markup characters escaped, and the characters XML 1.0 cannot hold at all
/// (control characters other than tab, newline and carriage return) written as `\xNN`.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

fn seconds(s: f64) -> String {
    format!("{:.3}", if s.is_finite() { s.max(0.0) } else { 0.0 })
}

/// One `<testsuite>` of a finished run: a test case per check, a failure for each failed
/// one with its expected and actual values and its detail.
fn suite_of(o: &mut String, file: &str, r: &Report) {
    let failures = r.checks.iter().filter(|c| !c.passed).count();
    let t = &r.throughput;
    o.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{}\">\n",
        xml(&r.scenario),
        r.checks.len(),
        seconds(t.generate_seconds + t.wall_seconds + t.check_seconds),
    ));
    o.push_str("    <properties>\n");
    let props = [
        ("file", file.to_string()),
        ("seed", r.seed.to_string()),
        ("durability", t.durability.clone()),
        ("lsn", r.lsn.to_string()),
        ("digest", r.digest.clone()),
        ("journal", r.journal.clone()),
    ];
    for (k, v) in props {
        o.push_str(&format!(
            "      <property name=\"{k}\" value=\"{}\"/>\n",
            xml(&v)
        ));
    }
    o.push_str("    </properties>\n");
    for c in &r.checks {
        let head = format!(
            "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"",
            xml(&c.name),
            xml(&r.scenario)
        );
        if c.passed {
            o.push_str(&head);
            o.push_str("/>\n");
            continue;
        }
        o.push_str(&format!(
            "{head}>\n      <failure message=\"expected {}, actual {}\" type=\"check\">{}</failure>\n    </testcase>\n",
            xml(&c.expected),
            xml(&c.actual),
            xml(&c.detail),
        ));
    }
    o.push_str("  </testsuite>\n");
}

/// One `<testsuite>` of a run that stopped with an error: one test case, `run`, in error.
fn suite_of_error(o: &mut String, run: &SuiteRun, error: &str) {
    let name = xml(run.name());
    o.push_str(&format!(
        "  <testsuite name=\"{name}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\">\n    <properties>\n      <property name=\"file\" value=\"{}\"/>\n    </properties>\n    <testcase name=\"run\" classname=\"{name}\" time=\"0\">\n      <error message=\"{}\" type=\"error\"/>\n    </testcase>\n  </testsuite>\n",
        xml(&run.file),
        xml(error),
    ));
}

/// JUnit XML (`testsuites` / `testsuite` / `testcase`, `failure` and `error` elements), as
/// Jenkins, GitLab, GitHub Actions reporters and others read it.
pub fn junit(runs: &[SuiteRun]) -> String {
    let (mut tests, mut failures, mut errors, mut time) = (0usize, 0usize, 0usize, 0f64);
    for run in runs {
        match &run.outcome {
            Ok(r) => {
                tests += r.checks.len();
                failures += r.checks.iter().filter(|c| !c.passed).count();
                let t = &r.throughput;
                time += t.generate_seconds + t.wall_seconds + t.check_seconds;
            }
            Err(_) => {
                tests += 1;
                errors += 1;
            }
        }
    }
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    o.push_str(&format!(
        "<testsuites name=\"waybill sim\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{}\">\n",
        seconds(time)
    ));
    for run in runs {
        match &run.outcome {
            Ok(r) => suite_of(&mut o, &run.file, r),
            Err(e) => suite_of_error(&mut o, run, e),
        }
    }
    o.push_str("</testsuites>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_characters_xml_cannot_hold() {
        let cases = [
            ("plain", "plain"),
            ("a<b>&\"c'", "a&lt;b&gt;&amp;&quot;c&apos;"),
            ("tab\tnl\n", "tab\tnl\n"),
            ("esc\x1b[0m", "esc\\x1b[0m"),
            ("nul\0", "nul\\x00"),
        ];
        for (raw, want) in cases {
            assert_eq!(xml(raw), want, "{raw:?}");
        }
    }
}
