//! [`Info`]: a decoded [`KcInfo`].

use kcompletion_abi::{KcInfo, KC_DONE_ALL, KC_INFO_LINKED, KC_NAME_MAX};

/// A snapshot of one completion object, from [`Completion::info`](crate::Completion::info)
/// or [`list`](crate::list).
///
/// # Examples
///
/// ```no_run
/// let c = kcompletion::Completion::open("job1")?;
/// let info = c.info()?;
/// println!("{} (id {}): done={} waiters={} mode={:o}",
///          info.name, info.id, info.done, info.waiters, info.mode);
/// if info.is_completed_all() {
///     println!("complete_all was called");
/// }
/// # Ok::<(), kcompletion::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Info {
    /// Object id, unique while the object lives.
    pub id: u32,
    /// The object's name (still reported after it was unlinked; see [`Info::linked`]).
    pub name: String,
    /// Completions not yet consumed; `u32::MAX` after `complete_all`
    /// (see [`Info::is_completed_all`]).
    pub done: u32,
    /// Tasks blocked in a wait right now.
    pub waiters: u32,
    /// Open handles (file descriptions) on the object.
    pub handles: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Permission bits, such as `0o600`.
    pub mode: u32,
    /// Whether the object still has its name (it was not unlinked).
    pub linked: bool,
}

impl Info {
    /// Decodes what the driver wrote. The name is cut at `name_len` (at most 63 bytes);
    /// bytes that are not UTF-8 (the driver never reports such names) are replaced.
    pub fn from_raw(raw: &KcInfo) -> Info {
        let len = (raw.name_len as usize).min(KC_NAME_MAX);
        Info {
            id: raw.id,
            name: String::from_utf8_lossy(&raw.name[..len]).into_owned(),
            done: raw.done,
            waiters: raw.waiters,
            handles: raw.handles,
            uid: raw.uid,
            gid: raw.gid,
            mode: raw.mode,
            linked: raw.flags & KC_INFO_LINKED != 0,
        }
    }

    /// Whether a wait would succeed now without blocking (`done > 0`).
    pub fn is_done(&self) -> bool {
        self.done > 0
    }

    /// Whether `complete_all` was called (and no `reinit` since): `done == u32::MAX`,
    /// every wait succeeds.
    pub fn is_completed_all(&self) -> bool {
        self.done == KC_DONE_ALL
    }
}

impl From<&KcInfo> for Info {
    fn from(raw: &KcInfo) -> Info {
        Info::from_raw(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &[u8], name_len: u32) -> KcInfo {
        let mut r = KcInfo {
            id: 7,
            done: 3,
            waiters: 2,
            handles: 4,
            uid: 1000,
            gid: 100,
            mode: 0o640,
            flags: KC_INFO_LINKED,
            name_len,
            ..KcInfo::default()
        };
        r.name[..name.len()].copy_from_slice(name);
        r
    }

    #[test]
    fn decodes_fields() {
        let i = Info::from_raw(&raw(b"job1", 4));
        assert_eq!(
            i,
            Info {
                id: 7,
                name: "job1".into(),
                done: 3,
                waiters: 2,
                handles: 4,
                uid: 1000,
                gid: 100,
                mode: 0o640,
                linked: true,
            }
        );
        assert!(i.is_done());
        assert!(!i.is_completed_all());
    }

    #[test]
    fn name_cut_at_len_and_clamped() {
        assert_eq!(Info::from_raw(&raw(b"job1", 2)).name, "jo");
        let full = [b'x'; 64];
        assert_eq!(Info::from_raw(&raw(&full, 1000)).name.len(), 63);
        assert_eq!(Info::from_raw(&raw(b"", 0)).name, "");
    }

    #[test]
    fn flags_and_done_all() {
        let mut r = raw(b"a", 1);
        r.flags = 0;
        r.done = u32::MAX;
        let i = Info::from(&r);
        assert!(!i.linked);
        assert!(i.is_completed_all());
        r.done = 0;
        assert!(!Info::from(&r).is_done());
    }
}
