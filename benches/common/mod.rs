//! What the benchmarks share: the machine line, /proc readings, child processes and ports,
//! the scrape's request and response parsing, and replacing one section of BENCHMARKS.md.

#![allow(dead_code)] // each benchmark uses a different part

use std::path::Path;

/// "2 cores, x86_64".
pub fn machine() -> String {
    format!(
        "{} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::consts::ARCH
    )
}

/// "2026-11-25T00:19:40Z (Unix 1795565980)".
pub fn date() -> String {
    let now = std::time::SystemTime::now();
    format!(
        "{} (Unix {})",
        humantime::format_rfc3339_seconds(now),
        now.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    )
}

/// A `Name: value kB` field of /proc/PID/status, in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: &str, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user + system) a process has used, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name and state.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Replaces the section that starts with `heading` in BENCHMARKS.md (or appends it).
pub fn write_section(heading: &str, report: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n\nFigures written by the benchmarks in `benches/`; each section is replaced when its benchmark runs again.\n\n".to_string());
    let kept = match existing.find(heading) {
        Some(start) => {
            let end = existing[start + 3..]
                .find("\n## ")
                .map_or(existing.len(), |i| start + 3 + i + 1);
            format!("{}{}", &existing[..start], &existing[end..])
        }
        None => existing,
    };
    if let Err(problem) = std::fs::write(
        &path,
        format!("{}{report}", kept.trim_end().to_string() + "\n\n"),
    ) {
        eprintln!("cannot write {}: {problem}", path.display());
        std::process::exit(1);
    }
    eprintln!("{report}");
    eprintln!("written to {}", path.display());
}

/// A child process killed when dropped, so that a failed run leaves nothing behind.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on now, on 127.0.0.1.
pub fn free_port() -> std::io::Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
}

/// A GET of `path` on a kept-alive connection, asking for gzip (as Prometheus does) when
/// `gzip`.
pub fn get_request(path: &str, gzip: bool) -> String {
    let encoding = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    format!("GET {path} HTTP/1.1\r\nHost: bench\r\n{encoding}\r\n")
}

/// The body length a response header line gives, when it is `Content-Length`.
pub fn content_length(header_line: &str) -> Option<usize> {
    let (name, value) = header_line.split_once(':')?;
    name.eq_ignore_ascii_case("content-length")
        .then(|| value.trim().parse().ok())
        .flatten()
}

/// A gzip body as text.
pub fn gunzip_text(body: &[u8]) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    flate2::read::GzDecoder::new(body).read_to_string(&mut text)?;
    Ok(text)
}

/// The value of the first sample of `name` whose labels contain every `label="value"`.
pub fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with(['{', ' ']))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}
