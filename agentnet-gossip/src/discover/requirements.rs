//! Hard constraints a requester filters discovery results on.

use agentnet_core::descriptor::{
    CapabilityDescriptor, PrivacyScope, Retention, SideEffects, Topic,
};

/// Hard constraints a requester filters on (all optional; the default admits everything).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Requirements {
    /// The descriptor's topic must be this topic or lie under it ([`Topic::is_within`]).
    pub topic: Option<Topic>,
    /// Highest acceptable price per call, micro-units. Free descriptors (no price) always
    /// pass; priced ones pass if `amount_micros <= max`.
    pub max_price_micros: Option<agentnet_core::money::Micros>,
    /// If set, a priced descriptor must be priced in this unit (free ones pass).
    pub price_unit: Option<String>,
    /// Weakest acceptable privacy scope: the descriptor's scope must be at least this
    /// (`Public < Confidential < LocalOnly`).
    pub min_privacy: Option<PrivacyScope>,
    /// Allowed jurisdictions (ISO 3166-1 alpha-2). If non-empty, the descriptor must name at
    /// least one jurisdiction and all of them must be in this list; an unspecified
    /// jurisdiction does not pass.
    pub jurisdictions: Vec<String>,
    /// Longest acceptable retention, days. `Retention::None` passes, `Days(d)` passes if
    /// `d <= max`, `Indefinite` fails.
    pub max_retention_days: Option<u16>,
    /// Strongest acceptable side effect (`None < ReadOnly < Reversible < Irreversible`).
    pub max_side_effects: Option<SideEffects>,
    /// A media type the descriptor must accept as input.
    pub input_mode: Option<String>,
    /// A media type the descriptor must produce as output.
    pub output_mode: Option<String>,
    /// Lowest acceptable claimed success rate, basis points. A descriptor that states none
    /// does not meet it (an unknown rate is not a rate above the minimum).
    pub min_success_bp: Option<u16>,
    /// Highest acceptable claimed latency, milliseconds. A descriptor that states none does
    /// not meet it.
    pub max_latency_ms: Option<u32>,
}

impl Requirements {
    /// True if `d` meets every requirement that is set.
    pub fn admits(&self, d: &CapabilityDescriptor) -> bool {
        let c = &d.constraints;
        if let Some(t) = &self.topic
            && !d.topic.is_within(t)
        {
            return false;
        }
        if let Some(p) = &c.price {
            if let Some(max) = self.max_price_micros
                && p.amount_micros > max
            {
                return false;
            }
            if let Some(unit) = &self.price_unit
                && p.unit != *unit
            {
                return false;
            }
        }
        if let Some(min) = self.min_privacy
            && c.privacy < min
        {
            return false;
        }
        if !self.jurisdictions.is_empty()
            && (c.jurisdictions.is_empty()
                || !c
                    .jurisdictions
                    .iter()
                    .all(|j| self.jurisdictions.contains(j)))
        {
            return false;
        }
        if let Some(max) = self.max_retention_days {
            let ok = match c.retention {
                Retention::None => true,
                Retention::Days(days) => days <= max,
                Retention::Indefinite => false,
            };
            if !ok {
                return false;
            }
        }
        if let Some(max) = self.max_side_effects
            && c.side_effects > max
        {
            return false;
        }
        if let Some(m) = &self.input_mode
            && !d.io.inputs.contains(m)
        {
            return false;
        }
        if let Some(m) = &self.output_mode
            && !d.io.outputs.contains(m)
        {
            return false;
        }
        if let Some(min) = self.min_success_bp
            && d.qos.success_bp.is_none_or(|s| s < min)
        {
            return false;
        }
        if let Some(max) = self.max_latency_ms
            && d.qos.latency_ms.is_none_or(|l| l > max)
        {
            return false;
        }
        true
    }
}
