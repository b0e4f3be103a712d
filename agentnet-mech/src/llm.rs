//! The LLM designer: the semantic form of attribution and revision.
//!
//! [`LlmDesigner`] never calls a model. Each iteration it returns [`Proposal::Ask`] with a
//! prompt built from a versioned template ([`TEMPLATE_V1`]): the mechanism's text and
//! parameters, the metrics, traces of every violating behaviour (which type, which strategy,
//! what it gains over honest full effort), and the JSON schema of the answer ([`SCHEMA_V1`]):
//! blame per clause and revised clauses. The host completes the prompt with its
//! `LanguageModel` (for instance the OpenAI-compatible adapter of `agentnet-transport`) and
//! hands the text back; [`Designer::answer`] parses and validates it.
//!
//! # What an answer must be
//! One JSON object (surrounding prose or a Markdown code fence is tolerated; the first `{`
//! to the last `}` is parsed), at most [`MAX_ANSWER_LEN`] bytes, with exactly the fields of
//! the schema: unknown fields, unknown clause names, wrong types, negative or non-finite
//! money, fractions outside `[0, 1]`, tiers outside 1..=3, deadlines outside
//! 1 ms..=30 days and revisions that break a mechanism rule (over budget, …) are typed
//! [`DesignError`]s. Clauses left out keep their current parameters; custom clauses are
//! always kept. A refused answer is mentioned in the next prompt so the model can correct it.

use serde::Deserialize;
use serde_json::json;

use crate::design::{
    ClauseBlame, DesignContext, DesignError, Designer, LlmPrompt, Proposal, Revision,
};
use crate::evaluate::TOLERANCE;
use crate::mechanism::{
    Clause, ClauseKind, MAX_DEADLINE_MS, Mechanism, Tier, fraction, micros, ppm, units,
};

/// Largest answer accepted, bytes.
pub const MAX_ANSWER_LEN: usize = 64 * 1024;

/// Name of the prompt template below.
pub const TEMPLATE_V1: &str = "mechanism-revision/v1";

/// The JSON schema of an answer (template v1).
pub const SCHEMA_V1: &str = r#"{
  "type": "object",
  "additionalProperties": false,
  "required": ["blame", "clauses"],
  "properties": {
    "blame": {
      "type": "array",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["clause", "weight"],
        "properties": {
          "clause": {"enum": ["payment", "quality_threshold", "deposit", "slashing", "verification", "deadlines"]},
          "weight": {"type": "number", "minimum": 0, "maximum": 1},
          "reason": {"type": "string"}
        }
      }
    },
    "clauses": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "payment": {"type": "object", "additionalProperties": false, "required": ["flat", "bonus"],
          "properties": {"flat": {"type": "number", "minimum": 0}, "bonus": {"type": "number", "minimum": 0}}},
        "quality_threshold": {"type": "object", "additionalProperties": false, "required": ["min_score"],
          "properties": {"min_score": {"type": "number", "minimum": 0, "maximum": 1}}},
        "deposit": {"type": "object", "additionalProperties": false, "required": ["amount"],
          "properties": {"amount": {"type": "number", "minimum": 0}}},
        "slashing": {"type": "object", "additionalProperties": false, "required": ["ratio"],
          "properties": {"ratio": {"type": "number", "minimum": 0, "maximum": 1}}},
        "verification": {"type": "object", "additionalProperties": false, "required": ["tier"],
          "properties": {"tier": {"enum": [1, 2, 3]}}},
        "deadlines": {"type": "object", "additionalProperties": false, "required": ["commit_s", "execute_s", "settle_s"],
          "properties": {"commit_s": {"type": "number"}, "execute_s": {"type": "number"}, "settle_s": {"type": "number"}}}
      }
    },
    "rationale": {"type": "string"}
  }
}"#;

const SYSTEM_V1: &str = "You design the cooperation rules (the mechanism) that a leader agent \
publishes for tasks it delegates. Followers of several types respond to the rules in their own \
interest. Revise the clauses so that honest full effort is every type's best response (IC \
violation 0), an honest participant never loses money (IR violation 0), and as little welfare \
as possible is lost. Blame the clauses that cause the violations. Answer with one JSON object \
that follows the given schema, and nothing else.";

/// The LLM designer. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct LlmDesigner {
    /// Why the previous answer was refused, for the next prompt.
    last_error: Option<String>,
    /// Whether a question is outstanding.
    asked: bool,
    /// Most generated tokens requested. 0 means 1024.
    pub max_tokens: u32,
}

impl LlmDesigner {
    /// A designer using template v1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The prompt for `ctx` (template v1).
    pub fn prompt(&self, ctx: &DesignContext<'_>) -> LlmPrompt {
        let m = ctx.incumbent;
        let metrics = ctx.report.metrics;
        let mut user = String::new();
        user.push_str("## Mechanism in force\n");
        user.push_str(&m.text());
        user.push_str("\n## Its parameters (money in units, fractions in [0, 1])\n");
        user.push_str(&parameters(m).to_string());
        user.push_str(&format!(
            "\n\n## Metrics over {} scenario(s)\nIC violation {:.4}, IR violation {:.4} \
             (both in task values), system loss {:.4}, budget balance {:.4}.\n",
            ctx.suite.len(),
            metrics.ic_violation,
            metrics.ir_violation,
            metrics.system_loss,
            metrics.budget_balance
        ));
        user.push_str("\n## Violating behaviour\n");
        let mut any = false;
        for s in &ctx.report.scenarios {
            let value = ctx
                .suite
                .iter()
                .find(|x| x.name == s.scenario)
                .map_or(1.0, |x| x.env.value);
            for t in &s.types {
                let (ic, ir) = (t.ic_gap(value), t.ir_gap(value));
                if ic > TOLERANCE || ir > TOLERANCE {
                    any = true;
                    user.push_str(&format!(
                        "- scenario \"{}\": {} followers (share {:.2}) play {}: utility {:.2} \
                         against {:.2} for honest full effort; a fraud of theirs is caught \
                         with probability {:.2}.\n",
                        s.scenario,
                        t.kind.name(),
                        t.share,
                        t.best.name(),
                        t.best_outcome.utility,
                        t.honest.utility,
                        t.best_outcome.caught
                    ));
                }
            }
        }
        if !any {
            user.push_str("- none: lower the system loss without creating violations.\n");
        }
        if let Some(e) = &self.last_error {
            user.push_str(&format!(
                "\n## Your previous answer was refused\n{e}\nCorrect it.\n"
            ));
        }
        user.push_str(&format!(
            "\n## Answer format\nOne JSON object following this schema:\n{SCHEMA_V1}\n\
             Omit a clause to keep it. Money in units (flat + bonus at most the budget of {} \
             units), score and ratio as fractions, tier 1, 2 or 3, deadlines in seconds.\n",
            units(m.budget)
        ));
        LlmPrompt {
            system: SYSTEM_V1.to_string(),
            user,
            schema: SCHEMA_V1.to_string(),
            template: TEMPLATE_V1,
            max_tokens: if self.max_tokens == 0 {
                1024
            } else {
                self.max_tokens
            },
        }
    }
}

/// The parameters of `m` as the answer schema spells them.
pub fn parameters(m: &Mechanism) -> serde_json::Value {
    let (flat, bonus) = m.payment().unwrap_or((0, 0));
    let d = m.deadlines();
    json!({
        "payment": {"flat": units(flat), "bonus": units(bonus)},
        "quality_threshold": {"min_score": fraction(m.min_score())},
        "deposit": {"amount": units(m.deposit())},
        "slashing": {"ratio": fraction(m.slashing_ratio())},
        "verification": {"tier": u8::from(m.tier())},
        "deadlines": {
            "commit_s": d.commit_ms as f64 / 1000.0,
            "execute_s": d.execute_ms as f64 / 1000.0,
            "settle_s": d.settle_ms as f64 / 1000.0,
        },
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    blame: Vec<BlameEntry>,
    clauses: ClauseSet,
    #[serde(default)]
    rationale: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlameEntry {
    clause: String,
    weight: f64,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ClauseSet {
    payment: Option<PaymentJ>,
    quality_threshold: Option<ThresholdJ>,
    deposit: Option<DepositJ>,
    slashing: Option<SlashingJ>,
    verification: Option<VerificationJ>,
    deadlines: Option<DeadlinesJ>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentJ {
    flat: f64,
    bonus: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdJ {
    min_score: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositJ {
    amount: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlashingJ {
    ratio: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerificationJ {
    tier: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadlinesJ {
    commit_s: f64,
    execute_s: f64,
    settle_s: f64,
}

fn money(clause: &str, field: &'static str, v: f64) -> Result<u64, DesignError> {
    micros(v).ok_or(DesignError::OutOfRange {
        clause: clause.into(),
        field,
        value: v,
    })
}

fn share(clause: &str, field: &'static str, v: f64) -> Result<u32, DesignError> {
    ppm(v).ok_or(DesignError::OutOfRange {
        clause: clause.into(),
        field,
        value: v,
    })
}

fn millis(field: &'static str, seconds: f64) -> Result<u64, DesignError> {
    let ms = (seconds * 1000.0).round();
    if ms.is_finite() && ms >= 1.0 && ms <= MAX_DEADLINE_MS as f64 {
        Ok(ms as u64)
    } else {
        Err(DesignError::OutOfRange {
            clause: "deadlines".into(),
            field,
            value: seconds,
        })
    }
}

/// Parse and validate `text` as a revision of `incumbent` (module docs).
pub fn parse_answer(incumbent: &Mechanism, text: &str) -> Result<Revision, DesignError> {
    if text.len() > MAX_ANSWER_LEN {
        return Err(DesignError::TooLarge {
            len: text.len(),
            max: MAX_ANSWER_LEN,
        });
    }
    let (Some(start), Some(end)) = (text.find('{'), text.rfind('}')) else {
        return Err(DesignError::NotJson("no JSON object in the answer".into()));
    };
    if end < start {
        return Err(DesignError::NotJson("no JSON object in the answer".into()));
    }
    let json = &text[start..=end];
    let answer: Answer = serde_json::from_str(json).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            DesignError::NotJson(e.to_string())
        } else {
            DesignError::Schema(e.to_string())
        }
    })?;
    let mut blame = Vec::with_capacity(answer.blame.len());
    for b in answer.blame {
        let clause = ClauseKind::from_name(&b.clause)
            .filter(|k| *k != ClauseKind::Custom)
            .ok_or_else(|| DesignError::Schema(format!("unknown clause {:?}", b.clause)))?;
        if !(b.weight.is_finite() && (0.0..=1.0).contains(&b.weight)) {
            return Err(DesignError::OutOfRange {
                clause: b.clause,
                field: "weight",
                value: b.weight,
            });
        }
        blame.push(ClauseBlame {
            clause,
            weight: b.weight,
            ic_delta: 0.0,
            ir_delta: 0.0,
            loss_delta: 0.0,
            reason: b.reason,
        });
    }
    blame.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.clause.cmp(&b.clause)));
    let c = answer.clauses;
    let mut m = incumbent.revise(incumbent.clauses.clone());
    if let Some(p) = c.payment {
        m.set(Clause::Payment {
            flat: money("payment", "flat", p.flat)?,
            bonus: money("payment", "bonus", p.bonus)?,
        });
    }
    if let Some(t) = c.quality_threshold {
        m.set(Clause::QualityThreshold {
            min_score: share("quality_threshold", "min_score", t.min_score)?,
        });
    }
    if let Some(d) = c.deposit {
        m.set(Clause::Deposit {
            amount: money("deposit", "amount", d.amount)?,
        });
    }
    if let Some(s) = c.slashing {
        m.set(Clause::Slashing {
            ratio: share("slashing", "ratio", s.ratio)?,
        });
    }
    if let Some(v) = c.verification {
        let tier = Tier::from_number(v.tier).ok_or(DesignError::OutOfRange {
            clause: "verification".into(),
            field: "tier",
            value: f64::from(v.tier),
        })?;
        m.set(Clause::Verification { tier });
    }
    if let Some(d) = c.deadlines {
        m.set(Clause::Deadlines {
            commit_ms: millis("commit_s", d.commit_s)?,
            execute_ms: millis("execute_s", d.execute_s)?,
            settle_ms: millis("settle_s", d.settle_s)?,
        });
    }
    m.validate()?;
    Ok(Revision {
        mechanism: m,
        blame,
        rationale: answer.rationale,
    })
}

impl Designer for LlmDesigner {
    fn name(&self) -> &'static str {
        "llm"
    }

    fn propose(&mut self, ctx: &DesignContext<'_>) -> Proposal {
        self.asked = true;
        Proposal::Ask(self.prompt(ctx))
    }

    fn answer(&mut self, ctx: &DesignContext<'_>, text: &str) -> Result<Revision, DesignError> {
        if !std::mem::take(&mut self.asked) {
            return Err(DesignError::NotAsked);
        }
        parse_answer(ctx.incumbent, text).inspect_err(|e| self.last_error = Some(e.to_string()))
    }

    fn observe(&mut self, _accepted: bool) {
        self.last_error = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanism::UNIT;
    use agentnet_core::AgentId;

    fn naive() -> Mechanism {
        Mechanism::new(
            AgentId::from_bytes([1; 32]),
            "review",
            80 * UNIT,
            [Clause::Payment {
                flat: 60 * UNIT,
                bonus: 0,
            }],
        )
    }

    #[test]
    fn a_fenced_answer_parses_and_keeps_omitted_clauses() {
        let text = "Here you go:\n```json\n{\"blame\":[{\"clause\":\"payment\",\"weight\":0.9}],\
                    \"clauses\":{\"payment\":{\"flat\":0,\"bonus\":80},\
                    \"verification\":{\"tier\":3}}}\n```";
        let r = parse_answer(&naive(), text).unwrap();
        assert_eq!(r.mechanism.payment(), Some((0, 80 * UNIT)));
        assert_eq!(r.mechanism.tier(), Tier::Evidence);
        assert_eq!(r.blamed_clause(), Some(ClauseKind::Payment));
        assert_eq!(r.mechanism.version, 2);
    }

    #[test]
    fn malformed_answers_are_typed_errors() {
        let m = naive();
        type Check = fn(&DesignError) -> bool;
        let cases: [(&str, Check); 8] = [
            ("no json here", |e| matches!(e, DesignError::NotJson(_))),
            ("{\"blame\": [", |e| matches!(e, DesignError::NotJson(_))),
            ("{\"blame\":[],\"clauses\":{},\"extra\":1}", |e| {
                matches!(e, DesignError::Schema(_))
            }),
            (
                "{\"blame\":[{\"clause\":\"vibes\",\"weight\":1}],\"clauses\":{}}",
                |e| matches!(e, DesignError::Schema(_)),
            ),
            (
                "{\"blame\":[],\"clauses\":{\"slashing\":{\"ratio\":1.5}}}",
                |e| matches!(e, DesignError::OutOfRange { .. }),
            ),
            (
                "{\"blame\":[],\"clauses\":{\"payment\":{\"flat\":-1,\"bonus\":0}}}",
                |e| matches!(e, DesignError::OutOfRange { .. }),
            ),
            (
                "{\"blame\":[],\"clauses\":{\"payment\":{\"flat\":60,\"bonus\":60}}}",
                |e| matches!(e, DesignError::Invalid(_)),
            ),
            (
                "{\"blame\":[],\"clauses\":{\"verification\":{\"tier\":7}}}",
                |e| matches!(e, DesignError::OutOfRange { .. }),
            ),
        ];
        for (text, ok) in cases {
            let e = parse_answer(&m, text).unwrap_err();
            assert!(ok(&e), "{text}: {e:?}");
        }
        let huge = "x".repeat(MAX_ANSWER_LEN + 1);
        assert!(matches!(
            parse_answer(&m, &huge),
            Err(DesignError::TooLarge { .. })
        ));
    }
}
