//! The settings beyond the restricted baseline, in the engine's terms. Only admitted specs
//! get here: the Policy has already checked every one of them.

use bollard::models::{DeviceMapping, HostConfig};

use crate::model::{HostNamespace, Privileges};

/// Adds privileged mode, host namespaces, devices, sysctls and the AppArmor profile to
/// `host`. Leaves `host` as it is for a spec that asks for none of them.
pub(super) fn apply(p: &Privileges, host: &mut HostConfig) {
    if p.privileged {
        host.privileged = Some(true);
    }
    for ns in &p.host_namespaces {
        let slot = match ns {
            HostNamespace::Network => &mut host.network_mode,
            HostNamespace::Pid => &mut host.pid_mode,
            HostNamespace::Ipc => &mut host.ipc_mode,
            HostNamespace::Uts => &mut host.uts_mode,
            HostNamespace::User => &mut host.userns_mode,
        };
        *slot = Some("host".to_string());
    }
    if !p.devices.is_empty() {
        host.devices = Some(
            p.devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.host_path.clone()),
                    path_in_container: Some(d.container_path.clone()),
                    cgroup_permissions: Some(d.permissions.clone()),
                })
                .collect(),
        );
    }
    if !p.sysctls.is_empty() {
        host.sysctls = Some(p.sysctls.clone().into_iter().collect());
    }
    if let Some(profile) = &p.apparmor_profile {
        host.security_opt
            .get_or_insert_with(Vec::new)
            .push(format!("apparmor={profile}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Device;

    #[test]
    fn empty_privileges_change_nothing() {
        let mut h = HostConfig::default();
        apply(&Privileges::default(), &mut h);
        assert_eq!(h, HostConfig::default());
    }

    #[test]
    fn every_setting_maps_to_its_host_config_field() {
        let p = Privileges {
            privileged: true,
            host_namespaces: HostNamespace::ALL.to_vec(),
            devices: vec![Device {
                host_path: "/dev/fuse".into(),
                container_path: "/dev/fuse".into(),
                permissions: "rw".into(),
            }],
            sysctls: [("net.ipv4.ping_group_range".to_string(), "0 0".to_string())].into(),
            apparmor_profile: Some("unconfined".into()),
        };
        let mut h = HostConfig {
            security_opt: Some(vec!["no-new-privileges:true".into()]),
            ..Default::default()
        };
        apply(&p, &mut h);
        assert_eq!(h.privileged, Some(true));
        for mode in [
            &h.network_mode,
            &h.pid_mode,
            &h.ipc_mode,
            &h.uts_mode,
            &h.userns_mode,
        ] {
            assert_eq!(mode.as_deref(), Some("host"));
        }
        assert_eq!(
            h.devices.as_ref().unwrap()[0].cgroup_permissions.as_deref(),
            Some("rw")
        );
        assert_eq!(
            h.sysctls.as_ref().unwrap()["net.ipv4.ping_group_range"],
            "0 0"
        );
        assert_eq!(
            h.security_opt.unwrap(),
            ["no-new-privileges:true", "apparmor=unconfined"]
        );
    }
}
