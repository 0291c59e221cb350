#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_core::log_list::{LogList, format_time, parse_time};

// Temporal-shard log lists (spec/log-list.md): any bytes either fail to
// parse or give a list whose invariants hold.
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(t) = parse_time(text)
    {
        assert_eq!(format_time(t), text, "a parsed time formats back to itself");
    }
    let Ok(list) = LogList::parse(data) else {
        return;
    };
    let shards = list.shards();
    for (i, s) in shards.iter().enumerate() {
        assert!(s.start < s.end, "periods are non-empty");
        if i > 0 {
            assert!(shards[i - 1].end <= s.start, "periods are sorted and disjoint");
        }
        assert_eq!(list.shard_at(s.start).map(|x| &x.origin), Some(&s.origin));
        assert_eq!(list.shard_at(s.end - 1).map(|x| &x.origin), Some(&s.origin));
        assert_eq!(list.by_origin(&s.origin).map(|x| x.start), Some(s.start));
        let _ = LogList::shard_policy(s);
    }
});
