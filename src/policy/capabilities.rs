//! Linux capability names.

/// Every capability the kernel defines (as of Linux 6.x), without the `CAP_` prefix.
pub const KNOWN: &[&str] = &[
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
];

/// Canonical form (`cap_net_raw` → `NET_RAW`), or `None` for an unknown name. `ALL` is kept.
pub fn normalize(name: &str) -> Option<String> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    (bare == "ALL" || KNOWN.contains(&bare)).then(|| bare.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn normalizes_spellings() {
        assert_eq!(super::normalize("cap_net_raw").as_deref(), Some("NET_RAW"));
        assert_eq!(super::normalize("ALL").as_deref(), Some("ALL"));
        assert_eq!(
            super::normalize("NET_BIND_SERVICE").as_deref(),
            Some("NET_BIND_SERVICE")
        );
        assert_eq!(super::normalize("SYS_ADMINN"), None);
    }
}
