//! What a followed log looks like from here, as a small state machine:
//! a *condition* that follows each poll (starting, ok, unreachable,
//! frozen) and a sticky list of *misbehaviour* findings, each with the
//! evidence it carries. Misbehaviour never goes away by itself (an operator
//! has to look at it) and never hides the condition: a log that misbehaved
//! and is now down is reported as both. [`LogHealth::observe`] returns the
//! alert an event calls for, if any; it does no I/O.

use serde::Serialize;

/// Most misbehaviour findings kept per log (the first ones: they are the
/// ones that matter; later distinct findings are counted).
pub const MAX_FINDINGS: usize = 16;

/// The condition of a log as of the latest poll.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// Not polled yet.
    Starting,
    /// Reachable and fresh.
    Ok,
    /// Transient fault: unreachable or answering 5xx/429.
    Unreachable,
    /// Its newest checkpoint is older than the freshness bound.
    Frozen,
}

/// One misbehaviour finding.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// Short reason slug (`equivocation`, `invalid-entry`, ...).
    pub reason: String,
    /// What was seen.
    pub detail: String,
    /// When it was first seen (Unix milliseconds).
    pub time_ms: u64,
    /// The evidence bundle it carries, if any (`/v1/evidence/<id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// Something the follower (or the witness, or gossip) observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The log answered with a fresh checkpoint.
    Fresh,
    /// The log answered, but its newest checkpoint is `age_ms` old.
    Frozen {
        /// Age of the newest checkpoint.
        age_ms: u64,
    },
    /// The log could not be reached or answered 5xx/429.
    Unreachable {
        /// Why.
        detail: String,
    },
    /// The log served something an honest log never serves.
    Misbehaved {
        /// Short reason slug.
        reason: String,
        /// What was seen.
        detail: String,
        /// The evidence bundle, if the finding has one.
        evidence: Option<String>,
    },
}

/// An alert an event calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// The log became unreachable.
    Unreachable {
        /// Why.
        detail: String,
    },
    /// The log became frozen.
    Frozen {
        /// Age of its newest checkpoint.
        age_ms: u64,
    },
    /// Reachable and fresh again after being unreachable or frozen.
    Recovered,
    /// A new misbehaviour finding.
    Misbehaviour {
        /// Short reason slug.
        reason: String,
        /// What was seen.
        detail: String,
    },
}

/// The health of one log.
#[derive(Debug, Clone)]
pub struct LogHealth {
    condition: Condition,
    condition_detail: String,
    findings: Vec<Finding>,
    /// Distinct findings beyond [`MAX_FINDINGS`].
    more_findings: u64,
    /// Latest size the log announced.
    pub log_size: u64,
    /// Entries audited.
    pub audited_size: u64,
}

/// The health of one log as served at `/healthz`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HealthView {
    /// `misbehaving` if there is any finding, else the condition.
    pub state: String,
    /// The first finding (`reason: detail`), else the condition's detail.
    pub detail: String,
    /// The condition as of the latest poll, shown also when misbehaving.
    pub condition: Condition,
    /// Why (empty when ok).
    pub condition_detail: String,
    /// The findings (sticky).
    pub misbehaviour: Vec<Finding>,
    /// Distinct findings not listed (over the limit).
    pub more_misbehaviour: u64,
    /// Latest size the log announced.
    pub log_size: u64,
    /// Entries audited.
    pub audited_size: u64,
}

impl LogHealth {
    /// A log not polled yet, with `audited` entries audited.
    pub fn new(audited: u64) -> Self {
        LogHealth {
            condition: Condition::Starting,
            condition_detail: String::new(),
            findings: Vec::new(),
            more_findings: 0,
            log_size: audited,
            audited_size: audited,
        }
    }

    /// The condition as of the latest poll.
    pub fn condition(&self) -> Condition {
        self.condition
    }

    /// Whether any misbehaviour was found.
    pub fn misbehaving(&self) -> bool {
        !self.findings.is_empty()
    }

    /// Applies an event at time `now_ms`; returns the alert it calls for.
    pub fn observe(&mut self, event: Event, now_ms: u64) -> Option<Alert> {
        let prev = self.condition;
        match event {
            Event::Fresh => {
                self.condition = Condition::Ok;
                self.condition_detail.clear();
                matches!(prev, Condition::Unreachable | Condition::Frozen)
                    .then_some(Alert::Recovered)
            }
            Event::Frozen { age_ms } => {
                self.condition = Condition::Frozen;
                self.condition_detail = format!("newest checkpoint is {} s old", age_ms / 1000);
                (prev != Condition::Frozen).then_some(Alert::Frozen { age_ms })
            }
            Event::Unreachable { detail } => {
                self.condition = Condition::Unreachable;
                self.condition_detail = detail.clone();
                (prev != Condition::Unreachable).then_some(Alert::Unreachable { detail })
            }
            Event::Misbehaved {
                reason,
                detail,
                evidence,
            } => {
                if self
                    .findings
                    .iter()
                    .any(|f| f.reason == reason && f.detail == detail)
                {
                    return None;
                }
                let known_reason = self.findings.iter().any(|f| f.reason == reason);
                if self.findings.len() >= MAX_FINDINGS {
                    // Bounded: alert only for a reason not seen before.
                    self.more_findings += 1;
                    return (!known_reason).then_some(Alert::Misbehaviour { reason, detail });
                }
                self.findings.push(Finding {
                    reason: reason.clone(),
                    detail: detail.clone(),
                    time_ms: now_ms,
                    evidence,
                });
                Some(Alert::Misbehaviour { reason, detail })
            }
        }
    }

    /// The view served at `/healthz`.
    pub fn view(&self) -> HealthView {
        let (state, detail) = match self.findings.first() {
            Some(f) => (
                "misbehaving".to_owned(),
                format!("{}: {}", f.reason, f.detail),
            ),
            None => (
                serde_json::to_value(self.condition)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                self.condition_detail.clone(),
            ),
        };
        HealthView {
            state,
            detail,
            condition: self.condition,
            condition_detail: self.condition_detail.clone(),
            misbehaviour: self.findings.clone(),
            more_misbehaviour: self.more_findings,
            log_size: self.log_size,
            audited_size: self.audited_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(reason: &str, detail: &str) -> Event {
        Event::Misbehaved {
            reason: reason.into(),
            detail: detail.into(),
            evidence: None,
        }
    }

    fn down() -> Event {
        Event::Unreachable {
            detail: "connection refused".into(),
        }
    }

    fn misbehaviour(reason: &str, detail: &str) -> Option<Alert> {
        Some(Alert::Misbehaviour {
            reason: reason.into(),
            detail: detail.into(),
        })
    }

    #[test]
    fn transitions_and_their_alerts() {
        let frozen = Event::Frozen { age_ms: 90_000 };
        // (events in order, the alert of each, final state, final condition)
        type Case = (
            &'static str,
            Vec<(Event, Option<Alert>)>,
            &'static str,
            Condition,
        );
        let cases: Vec<Case> = vec![
            (
                "first poll fresh",
                vec![(Event::Fresh, None)],
                "ok",
                Condition::Ok,
            ),
            (
                "down once, alert once, then recovered",
                vec![
                    (Event::Fresh, None),
                    (
                        down(),
                        Some(Alert::Unreachable {
                            detail: "connection refused".into(),
                        }),
                    ),
                    (down(), None),
                    (Event::Fresh, Some(Alert::Recovered)),
                    (Event::Fresh, None),
                ],
                "ok",
                Condition::Ok,
            ),
            (
                "frozen then fresh",
                vec![
                    (frozen.clone(), Some(Alert::Frozen { age_ms: 90_000 })),
                    (frozen.clone(), None),
                    (Event::Fresh, Some(Alert::Recovered)),
                ],
                "ok",
                Condition::Ok,
            ),
            (
                "unreachable at start is alerted",
                vec![(
                    down(),
                    Some(Alert::Unreachable {
                        detail: "connection refused".into(),
                    }),
                )],
                "unreachable",
                Condition::Unreachable,
            ),
            (
                "misbehaviour is sticky through fresh polls",
                vec![
                    (Event::Fresh, None),
                    (
                        bad("equivocation", "evidence 1"),
                        misbehaviour("equivocation", "evidence 1"),
                    ),
                    (Event::Fresh, None),
                ],
                "misbehaving",
                Condition::Ok,
            ),
            (
                "misbehaving and then unreachable shows both",
                vec![
                    (
                        bad("tiles-inconsistent", "x"),
                        misbehaviour("tiles-inconsistent", "x"),
                    ),
                    (
                        down(),
                        Some(Alert::Unreachable {
                            detail: "connection refused".into(),
                        }),
                    ),
                ],
                "misbehaving",
                Condition::Unreachable,
            ),
            (
                "the same finding twice alerts once; another one alerts again",
                vec![
                    (
                        bad("invalid-entry", "entry 3"),
                        misbehaviour("invalid-entry", "entry 3"),
                    ),
                    (bad("invalid-entry", "entry 3"), None),
                    (
                        bad("invalid-entry", "entry 4"),
                        misbehaviour("invalid-entry", "entry 4"),
                    ),
                    (bad("invalid-entry", "entry 3"), None),
                ],
                "misbehaving",
                Condition::Starting,
            ),
        ];
        for (name, events, state, condition) in cases {
            let mut h = LogHealth::new(0);
            for (i, (event, alert)) in events.into_iter().enumerate() {
                assert_eq!(h.observe(event, 7), alert, "{name}: event {i}");
            }
            let v = h.view();
            assert_eq!(v.state, state, "{name}");
            assert_eq!(v.condition, condition, "{name}");
        }
    }

    #[test]
    fn both_states_are_served_and_findings_carry_evidence() {
        let mut h = LogHealth::new(5);
        h.observe(
            Event::Misbehaved {
                reason: "equivocation".into(),
                detail: "evidence ab12".into(),
                evidence: Some("ab12".into()),
            },
            1000,
        );
        h.observe(down(), 2000);
        let v = serde_json::to_value(h.view()).unwrap_or_default();
        assert_eq!(v["state"], "misbehaving");
        assert_eq!(v["detail"], "equivocation: evidence ab12");
        assert_eq!(v["condition"], "unreachable");
        assert_eq!(v["condition_detail"], "connection refused");
        assert_eq!(v["misbehaviour"][0]["evidence"], "ab12");
        assert_eq!(v["misbehaviour"][0]["time_ms"], 1000);
        assert_eq!(v["audited_size"], 5);
    }

    #[test]
    fn findings_are_bounded() {
        let mut h = LogHealth::new(0);
        for i in 0..1000 {
            let a = h.observe(bad("invalid-entry", &format!("entry {i}")), 0);
            assert_eq!(a.is_some(), i < MAX_FINDINGS, "entry {i}");
        }
        // A new reason is still alerted past the bound.
        assert!(h.observe(bad("size-shrank", "x"), 0).is_some());
        let v = h.view();
        assert_eq!(v.misbehaviour.len(), MAX_FINDINGS);
        assert_eq!(v.more_misbehaviour, 1000 - MAX_FINDINGS as u64 + 1);
    }
}
