//! Standard output that survives a closed pipe (`provlog verify ... | head`),
//! and human-readable times.

use std::io::Write;

/// Writes one line to stdout. A closed or failing stdout is ignored: the
/// exit status still says whether what was asked verified.
pub fn write_line(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"));
}

/// `println!` that does not panic when stdout is a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC): the log list's
/// time form, so one formatter serves both.
pub fn utc(secs: u64) -> String {
    provlog_core::log_list::format_time(secs)
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_matches_known_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
