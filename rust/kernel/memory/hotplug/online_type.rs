// SPDX-License-Identifier: GPL-2.0

//! How a memory block is onlined (C's `enum mmop`), and the type new memory blocks get
//! (`auto_online_blocks`).
//!
//! C header: [`include/linux/memory_hotplug.h`](srctree/include/linux/memory_hotplug.h).

use crate::{bindings, c_str, prelude::*, str::CStr};

/// How a memory block is onlined: C's `enum mmop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum OnlineType {
    /// `MMOP_OFFLINE`: do not online (as an auto-online setting) / not requested.
    Offline = bindings::mmop_MMOP_OFFLINE,
    /// `MMOP_ONLINE`: online into the zone the online policy chooses.
    Online = bindings::mmop_MMOP_ONLINE,
    /// `MMOP_ONLINE_KERNEL`: online into the kernel zone.
    OnlineKernel = bindings::mmop_MMOP_ONLINE_KERNEL,
    /// `MMOP_ONLINE_MOVABLE`: online into `ZONE_MOVABLE`.
    OnlineMovable = bindings::mmop_MMOP_ONLINE_MOVABLE,
}

impl OnlineType {
    /// Every online type, in the order of their values.
    pub const ALL: [OnlineType; 4] = [
        OnlineType::Offline,
        OnlineType::Online,
        OnlineType::OnlineKernel,
        OnlineType::OnlineMovable,
    ];

    /// Returns the online type named `name` (with one trailing newline allowed), as `state`
    /// and `auto_online_blocks` take it (`mhp_online_type_from_str()`); fails with `EINVAL`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{c_str, memory::hotplug::OnlineType};
    ///
    /// let t = OnlineType::from_name(c_str!("online_movable\n"));
    /// assert_eq!(t, Ok(OnlineType::OnlineMovable));
    /// assert_eq!(OnlineType::from_name(c_str!("offline")), Ok(OnlineType::Offline));
    /// assert_eq!(OnlineType::from_name(c_str!("movable")), Err(EINVAL));
    /// assert_eq!(OnlineType::from_name(c_str!("ONLINE")), Err(EINVAL));
    /// ```
    pub fn from_name(name: &CStr) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|t| crate::sysfs::sysfs_streq(name, t.name()))
            .ok_or(EINVAL)
    }

    /// Returns the online type with the C value `value`, if there is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::memory::hotplug::OnlineType;
    ///
    /// // The values of C's `enum mmop`.
    /// assert_eq!(OnlineType::from_raw(0), Some(OnlineType::Offline));
    /// assert_eq!(OnlineType::from_raw(3), Some(OnlineType::OnlineMovable));
    /// assert_eq!(OnlineType::from_raw(4), None);
    /// for t in OnlineType::ALL {
    ///     assert_eq!(OnlineType::from_raw(t.as_raw()), Some(t));
    /// }
    /// ```
    pub fn from_raw(value: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| *t as u32 == value)
    }

    /// Returns the C value.
    pub fn as_raw(self) -> u32 {
        self as u32
    }

    /// Returns the name used in sysfs and on the command line, e.g. `online_movable`.
    pub fn name(self) -> &'static CStr {
        match self {
            OnlineType::Offline => c_str!("offline"),
            OnlineType::Online => c_str!("online"),
            OnlineType::OnlineKernel => c_str!("online_kernel"),
            OnlineType::OnlineMovable => c_str!("online_movable"),
        }
    }
}

/// Returns the type new memory blocks are onlined with (`auto_online_blocks`).
pub fn default_online_type() -> OnlineType {
    // SAFETY: No requirements; the value is resolved lazily from the Kconfig default.
    let raw = unsafe { bindings::mhp_get_default_online_type() };
    OnlineType::from_raw(raw).unwrap_or(OnlineType::Offline)
}

/// Sets the type new memory blocks are onlined with.
pub fn set_default_online_type(online_type: OnlineType) {
    // SAFETY: Any `enum mmop` value is valid.
    unsafe { bindings::mhp_set_default_online_type(online_type.as_raw()) };
}
