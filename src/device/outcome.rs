//! What a sync did to a device's groups: planned (`plan`), applied (`apply`),
//! or, carried by a failed device's error, what reached its running
//! configuration. Plain data, apart from [`super::sync`] (which fills it) so
//! that [`super::error`] can carry it.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupOutcome {
    pub name: String,
    pub family: crate::domain::Family,
    /// The digest of the managed entries read before any change
    /// ([`super::ios::entries_digest`]): what a saved plan pins.
    pub observed: Option<String>,
    /// The lines the plan found for this group (`None`: no change), shared
    /// by every device of the run with the same change. On `apply`, what
    /// was pushed; on a failed device, still the plan (the counts below say
    /// what reached it).
    pub change_set: Option<std::sync::Arc<crate::plan::ChangeSet>>,
    /// Planned (`plan`), applied (`apply`), or, on a failed device, in the
    /// running configuration (as acknowledged or read back).
    pub added: usize,
    pub removed: usize,
    pub kept: usize,
    /// Entries tsfleet does not manage (`range`, `group-object`, …), left alone.
    pub unmanaged: Vec<String>,
    /// Push rounds used (0 when nothing was pushed).
    pub push_rounds: u32,
    /// Lines the device never acknowledged, later fixed by a re-push.
    pub lost_lines: usize,
    /// Adds removed again because the run was stopped before the group's
    /// adds were all in.
    pub taken_back: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    pub hostname: String,
    pub groups: Vec<GroupOutcome>,
    pub saved: bool,
}

impl SyncOutcome {
    pub fn changed(&self) -> bool {
        self.groups.iter().any(|g| g.added + g.removed > 0)
    }
}
