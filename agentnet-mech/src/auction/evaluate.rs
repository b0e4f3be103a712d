//! The follower-model check of the score rule: what a bidder expects to earn by bidding
//! truthfully, by promising a faster delivery than it can keep, or by pricing below its
//! break-even price (the argument is in the [module docs](super), "Why truthful bids").
//!
//! A bidder is a [`FollowerType`] working at one [`Effort`]. Its **cost** of doing the work
//! is `cost_e + provider_cost_t + capital_rate · D` (units; the follower model's `C`), its
//! **true latency** the effort's duration, and its **break-even price** `C / success_e`:
//! the price at which winning is worth exactly nothing when it promises its true latency
//! (it is paid only for a delivery in time, which happens with `success_e`). Bidding
//! truthfully means asking the break-even price and promising the true latency.
//!
//! For each draw of the competing field, the award and the pay come from the auction's own
//! [`rank`]; the winner then delivers in time with the follower model's
//! `s_e = success_e · min(1, T / duration_e)` at the promised `T`
//! ([`EffortProfile::success_within`](crate::follower::EffortProfile::success_within)) and is
//! settled by [`settlement_amounts`] as an `Accepted` session paying the second-score pay,
//! or a `TimedOut(Execute)` one (nothing paid, the deposit refunded). Its utility over the
//! draws is `P(win) · (E[settlement] − C)` with `E[settlement] = s_e·pay` here.

use agentnet_core::{AgentId, Hash, WallTime};

use super::messages::Bid;
use super::score::{ScoreRule, rank};
use crate::follower::{Effort, Environment, FollowerType};
use crate::mechanism::{Clause, MAX_AMOUNT, Mechanism, Micros, Tier, micros, units};
use crate::session::{Outcome, Stage, settlement_amounts};

/// One competing bid in a draw of the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rival {
    /// Its price, µ.
    pub price: Micros,
    /// Its promised latency, ms.
    pub latency_ms: u32,
}

/// How the evaluated bidder departs from the truth, in parts per million of the truthful
/// values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// Promised latency = true latency × this / 10⁶ (at least 1 ms). Below 10⁶ overstates
    /// speed.
    pub latency_ppm: u32,
    /// Price = break-even price × this / 10⁶. Below 10⁶ bids under cost.
    pub price_ppm: u32,
}

impl Report {
    /// The truth: break-even price, true latency.
    pub const TRUTHFUL: Report = Report {
        latency_ppm: 1_000_000,
        price_ppm: 1_000_000,
    };

    /// Promise `factor_ppm`/10⁶ of the true latency at the break-even price.
    pub fn overstate_speed(factor_ppm: u32) -> Report {
        Report {
            latency_ppm: factor_ppm,
            ..Report::TRUTHFUL
        }
    }

    /// Ask `factor_ppm`/10⁶ of the break-even price with the true latency.
    pub fn underprice(factor_ppm: u32) -> Report {
        Report {
            price_ppm: factor_ppm,
            ..Report::TRUTHFUL
        }
    }
}

/// The bidder evaluated and the auction it bids in.
#[derive(Clone, Debug, PartialEq)]
pub struct BidderSetting {
    /// Its type.
    pub ty: FollowerType,
    /// The effort it works at.
    pub effort: Effort,
    /// The verification tier of the intent (and the most the bidder accepts).
    pub tier: Tier,
    /// The deposit it posts, µ.
    pub deposit: Micros,
    /// Verification costs, as in the follower model.
    pub env: Environment,
    /// The requester's score rule.
    pub rule: ScoreRule,
    /// The intent's reserve, µ.
    pub budget_max: Micros,
}

/// What a way of bidding earns, in expectation over the draws of the field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BidderUtility {
    /// The price bid, µ.
    pub price: Micros,
    /// The latency promised, ms.
    pub latency_ms: u32,
    /// Share of draws won.
    pub win_probability: f64,
    /// Probability a won job is delivered good and in time.
    pub on_time: f64,
    /// Expected net settlement (pay on a delivery in time; the deposit nets to 0 either
    /// way), averaged over all draws (0 in a draw lost), units.
    pub expected_pay: f64,
    /// `P(win) · (E[settlement | win] − C)`, units.
    pub utility: f64,
}

impl BidderSetting {
    /// `C = cost_e + provider_cost_t + capital_rate · D`, units.
    pub fn cost(&self) -> f64 {
        self.ty.effort[self.effort as usize].cost
            + self.env.provider_cost[self.tier.index()]
            + self.ty.capital_rate * units(self.deposit)
    }

    /// The effort's duration, ms (clamped to `1..=u32::MAX`).
    pub fn true_latency_ms(&self) -> u32 {
        let d = self.ty.effort[self.effort as usize].duration_ms;
        u32::try_from(d).unwrap_or(u32::MAX).max(1)
    }

    /// `C / success_e`, µ; `None` when the effort never succeeds or the price would exceed
    /// [`MAX_AMOUNT`].
    pub fn break_even(&self) -> Option<Micros> {
        let p =
            self.ty.effort[self.effort as usize].success_within(f64::from(self.true_latency_ms()));
        if p <= 0.0 {
            return None;
        }
        micros(self.cost() / p)
    }

    /// The bid `report` describes (round 0, for a placeholder intent).
    pub fn bid(&self, report: Report) -> Option<Bid> {
        let scale = |v: u128, ppm: u32| v * u128::from(ppm) / 1_000_000;
        let price = scale(u128::from(self.break_even()?), report.price_ppm);
        let latency = scale(u128::from(self.true_latency_ms()), report.latency_ppm);
        Some(Bid {
            price: Micros::try_from(price).ok()?.min(MAX_AMOUNT),
            latency_ms: u32::try_from(latency).unwrap_or(u32::MAX).max(1),
            ..placeholder_bid(SUBJECT, self.tier)
        })
    }
}

/// The evaluated bidder's id in the rankings (rivals get ids on both sides of it, so ties
/// are broken both ways).
const SUBJECT: AgentId = AgentId::from_bytes([0x80; 32]);

fn rival_id(i: usize) -> AgentId {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&(i as u64).to_be_bytes());
    // Odd rivals above the subject, even ones below.
    b[0] = if i % 2 == 1 { 0xc0 } else { 0x40 };
    AgentId::from_bytes(b)
}

fn placeholder_bid(provider: AgentId, tier: Tier) -> Bid {
    Bid {
        intent: Hash::default(),
        requester: AgentId::from_bytes([0; 32]),
        provider,
        capability: "evaluate".into(),
        round: 0,
        price: 0,
        deposit: 0,
        latency_ms: 1,
        max_tier: tier,
        issued_at: WallTime::UNIX_EPOCH,
    }
}

/// What bidding as `report` earns `setting`'s bidder against `fields` (each draw equally
/// likely). `None` when the bidder has no break-even price or `fields` is empty.
pub fn bidder_utility(
    setting: &BidderSetting,
    fields: &[Vec<Rival>],
    report: Report,
) -> Option<BidderUtility> {
    if fields.is_empty() {
        return None;
    }
    let mine = setting.bid(report)?;
    let profile = setting.ty.effort[setting.effort as usize];
    let on_time = profile.success_within(f64::from(mine.latency_ms));
    let cost = setting.cost();
    let (mut wins, mut pay_sum, mut utility_sum) = (0usize, 0.0, 0.0);
    for field in fields {
        let rivals: Vec<Bid> = field
            .iter()
            .enumerate()
            .map(|(i, r)| Bid {
                price: r.price,
                latency_ms: r.latency_ms.max(1),
                ..placeholder_bid(rival_id(i), setting.tier)
            })
            .collect();
        let mut all: Vec<&Bid> = vec![&mine];
        all.extend(rivals.iter());
        let ranking = rank(&setting.rule, setting.budget_max, &all);
        let Some(first) = ranking.first().filter(|p| p.index == 0) else {
            continue;
        };
        wins += 1;
        let settled = expected_settlement(first.pay, setting.deposit, on_time);
        pay_sum += settled;
        utility_sum += settled - cost;
    }
    let n = fields.len() as f64;
    Some(BidderUtility {
        price: mine.price,
        latency_ms: mine.latency_ms,
        win_probability: wins as f64 / n,
        on_time,
        expected_pay: pay_sum / n,
        utility: utility_sum / n,
    })
}

/// The expected net settlement of a won job paying `pay` with deposit `deposit`, delivered
/// in time with probability `on_time`: an `Accepted` session or a `TimedOut(Execute)` one,
/// as [`settlement_amounts`] settles them (payment plus refund minus the deposit posted).
fn expected_settlement(pay: Micros, deposit: Micros, on_time: f64) -> f64 {
    let m = Mechanism::new(
        AgentId::from_bytes([0; 32]),
        "auction",
        pay,
        [
            Clause::Payment {
                flat: pay,
                bonus: 0,
            },
            Clause::Deposit { amount: deposit },
        ],
    );
    let net = |o| {
        let a = settlement_amounts(&m, o);
        units(a.payment) + units(a.refund) - units(deposit)
    };
    on_time * net(Outcome::Accepted) + (1.0 - on_time) * net(Outcome::TimedOut(Stage::Execute))
}

/// The range a random field is drawn from ([`sample_fields`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// Fewest and most rivals per draw.
    pub rivals: (usize, usize),
    /// Lowest and highest rival price, µ.
    pub price: (Micros, Micros),
    /// Shortest and longest rival latency, ms.
    pub latency_ms: (u32, u32),
}

/// `draws` fields drawn uniformly from `spec` by a generator seeded with `seed` (the same
/// seed gives the same fields; no OS randomness).
pub fn sample_fields(seed: [u8; 32], draws: usize, spec: &FieldSpec) -> Vec<Vec<Rival>> {
    let mut rng = SplitMix::new(seed);
    (0..draws)
        .map(|_| {
            let n = rng.between(spec.rivals.0 as u64, spec.rivals.1 as u64) as usize;
            (0..n)
                .map(|_| Rival {
                    price: rng.between(spec.price.0, spec.price.1),
                    latency_ms: rng
                        .between(u64::from(spec.latency_ms.0), u64::from(spec.latency_ms.1))
                        as u32,
                })
                .collect()
        })
        .collect()
}

/// SplitMix64 over the four words of a 32-byte seed: small, deterministic, enough for
/// drawing test fields.
struct SplitMix(u64);

impl SplitMix {
    fn new(seed: [u8; 32]) -> Self {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for chunk in seed.chunks_exact(8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            s = s.rotate_left(17) ^ u64::from_le_bytes(w);
            s = SplitMix::mix(s);
        }
        SplitMix(s)
    }

    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        SplitMix::mix(self.0)
    }

    /// Uniform in `lo..=hi` (either order), up to a negligible modulo bias.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        let (lo, hi) = (lo.min(hi), lo.max(hi));
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.next() % span,
            None => self.next(),
        }
    }
}
