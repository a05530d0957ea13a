//! The mapping, on the fixtures in `tests/golden/import/` (a Nornir trio,
//! an Ansible YAML and an Ansible INI file). Each fixture's import is
//! compared with its `.tsfleet.yaml` beside it; `TSFLEET_BLESS=1` rewrites
//! those after a deliberate change.

use super::*;
use crate::inventory::Secret;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/import");

/// Every secret value in the fixtures.
const SECRETS: &[&str] = &[
    "Nornir-Host-Secret-1",
    "Nornir-Enable-Secret-2",
    "Nornir-Default-Secret",
    "ANSIBLE_VAULT",
    "62313365396662",
    "Ansible-Enable-Literal",
    "Ansible-Snmp-Secret",
    "Ini Literal Secret",
    "Ini-All-Secret",
    "vault_enable",
    "Switch-Only-Secret",
];

fn fixture(name: &str) -> (String, String) {
    let text = std::fs::read_to_string(format!("{DIR}/{name}")).unwrap();
    (format!("tests/golden/import/{name}"), text)
}

fn golden(name: &str, out: &Imported) {
    let path = format!("{DIR}/{name}.tsfleet.yaml");
    if std::env::var_os("TSFLEET_BLESS").is_some() {
        std::fs::write(&path, &out.yaml).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        out.yaml, want,
        "{path} differs (TSFLEET_BLESS=1 rewrites it)"
    );
}

fn no_secret(out: &Imported) {
    let all = format!(
        "{}{:?}{:?}",
        out.yaml,
        out.notes,
        out.env.iter().map(|e| &e.holds).collect::<Vec<_>>()
    );
    for s in SECRETS {
        assert!(!all.contains(s), "{s} leaked:\n{all}");
    }
}

fn env(name: &str) -> Option<Secret> {
    Some(Secret::Env { env: name.into() })
}

fn nornir() -> Imported {
    let files = [
        fixture("nornir-hosts.yaml"),
        fixture("nornir-groups.yaml"),
        fixture("nornir-defaults.yaml"),
    ];
    import_nornir(&files, &Options::default()).unwrap()
}

#[test]
fn nornir_trio_maps_hosts_groups_defaults_and_connection_options() {
    let out = nornir();
    golden("nornir", &out);
    no_secret(&out);
    let inv = &out.inventory;
    let names: Vec<&str> = inv.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        ["rtr-hq-1", "rtr-br-1", "rtr-br-2"],
        "nx-core is left out"
    );
    assert!(out.notes.iter().any(|n| n.contains(
        "nornir-hosts.yaml:26: host nx-core left out: platform `nxos` is not Cisco IOS"
    )));
    let hq = &inv.devices[0];
    assert_eq!(hq.host, "192.0.2.11");
    // Nornir looks in hq, then its parent region-west, then ios: reversed.
    assert_eq!(hq.groups, ["ios", "region-west", "hq"]);
    assert_eq!(hq.settings.password, env("TSFLEET_PASSWORD_RTR_HQ_1"));
    assert_eq!(inv.groups["hq"].username.as_deref(), Some("hq-admin"));
    let br = &inv.devices[1];
    assert_eq!(br.settings.port, Some(2222));
    assert_eq!(br.settings.enable_secret, env("TSFLEET_ENABLE_RTR_BR_1"));
    assert_eq!(
        br.settings.private_key.as_deref(),
        Some(std::path::Path::new("~/.ssh/branch_ed25519"))
    );
    assert_eq!(inv.groups["branch"].connect_timeout_ms, Some(20_000));
    assert_eq!(inv.defaults.username.as_deref(), Some("netops"));
    assert_eq!(inv.defaults.password, env("TSFLEET_PASSWORD"));
    assert_eq!(inv.defaults.connect_timeout_ms, Some(15_000));
    assert_eq!(inv.defaults.command_timeout_ms, Some(60_000));
    // A template address: the name is used, and that is said.
    assert_eq!(inv.devices[2].host, "rtr-br-2");
    assert!(out.notes.iter().any(|n| {
        n.contains("nornir-hosts.yaml:22: `hostname` of host rtr-br-2 is not plain text")
    }));
    for unmapped in [
        "nornir-hosts.yaml:8: `data.site` of host rtr-hq-1 not imported",
        "nornir-groups.yaml:4: `data.ntp` of group region-west not imported",
        "nornir-defaults.yaml:10: `connection_options.netmiko.extras.session_log` of the defaults not imported",
    ] {
        assert!(
            out.notes.iter().any(|n| n.contains(unmapped)),
            "{unmapped}: {:#?}",
            out.notes
        );
    }
    assert!(out.notes.iter().any(|n| n
        == "tests/golden/import/nornir-hosts.yaml:6: `password` of host rtr-hq-1 is a literal, not copied: set TSFLEET_PASSWORD_RTR_HQ_1 to the SSH password"));
    // No policy given: the devices name one that is not defined (a TODO
    // that `inventory check` refuses), and the header says so.
    assert!(inv.policies.is_empty());
    assert_eq!(inv.defaults.policy.as_deref(), Some(POLICY));
    assert!(
        out.yaml
            .contains("# TODO: the lists are not in the source inventory")
    );
    // What is written reads back as the same inventory.
    assert_eq!(&crate::inventory::parse(&out.yaml).unwrap(), inv);
}

#[test]
fn ansible_yaml_maps_children_vars_ranges_and_vault() {
    let (file, text) = fixture("ansible.yml");
    let opts = Options {
        block: vec!["corp-block.acme.threatstop.local".into()],
        dns: vec!["192.0.2.53".into()],
        ..Options::default()
    };
    let out = import_ansible(&file, &text, &opts).unwrap();
    golden("ansible.yml", &out);
    no_secret(&out);
    let inv = &out.inventory;
    let names: Vec<&str> = inv.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["hq-r1.example.net", "hq-r2.example.net", "br-1"]);
    assert_eq!(inv.devices[0].groups, ["routers", "hq"], "parents first");
    assert_eq!(inv.devices[0].host, "hq-r1.example.net");
    let br = &inv.devices[2];
    assert_eq!(
        (br.host.as_str(), br.settings.port),
        ("192.0.2.21", Some(2222))
    );
    assert_eq!(br.settings.enable_secret, env("TSFLEET_ENABLE_BR_1"));
    assert_eq!(inv.groups["branch"].command_timeout_ms, Some(45_000));
    assert_eq!(inv.defaults.username.as_deref(), Some("ansible"));
    assert_eq!(inv.defaults.password, env("TSFLEET_PASSWORD"));
    assert!(out.notes.iter().any(|n| n.contains(
        "ansible.yml:5: `ansible_password` of the defaults is vault-encrypted, not copied"
    )));
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("ansible.yml:26: `snmp_community` of group routers not imported"))
    );
    assert!(out.notes.iter().any(|n| n.contains("host nx-1 left out")));
    // The group of left-out hosts only is neither written nor asks for a variable.
    assert!(!inv.groups.contains_key("switches"));
    assert!(!out.yaml.contains("SWITCHES"), "{}", out.yaml);
    // Lists given: one policy, which no device needs to name.
    assert_eq!(
        inv.policies[POLICY].block,
        ["corp-block.acme.threatstop.local"]
    );
    assert_eq!(inv.defaults.policy, None);
    assert_eq!(inv.dns.as_ref().unwrap().servers, ["192.0.2.53"]);
    assert!(!out.yaml.contains("TODO"), "{}", out.yaml);
    assert_eq!(&crate::inventory::parse(&out.yaml).unwrap(), inv);
}

#[test]
fn ansible_ini_maps_sections_children_vars_and_ranges() {
    let (file, text) = fixture("ansible.ini");
    let out = import_ansible(&file, &text, &Options::default()).unwrap();
    golden("ansible.ini", &out);
    no_secret(&out);
    let inv = &out.inventory;
    let names: Vec<&str> = inv.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "hq-r01.example.net",
            "hq-r02.example.net",
            "hq-r03.example.net",
            "br-1",
            "br-2"
        ]
    );
    assert_eq!(inv.devices[3].groups, ["routers", "branch"]);
    assert_eq!(
        inv.devices[3].settings.password,
        env("TSFLEET_PASSWORD_BR_1")
    );
    assert_eq!(
        inv.devices[4].settings.private_key.as_deref(),
        Some(std::path::Path::new("~/.ssh/branch"))
    );
    assert_eq!(inv.groups["routers"].username.as_deref(), Some("netops"));
    assert_eq!(
        inv.groups["routers"].enable_secret,
        env("TSFLEET_ENABLE_GROUP_ROUTERS")
    );
    assert_eq!(inv.defaults.password, env("TSFLEET_PASSWORD"));
    assert!(out.notes.iter().any(|n| n.contains(
        "ansible.ini:16: `ansible_become_pass` of group routers is a template, not copied"
    )));
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("ansible.ini:17: `ntp_server` of group routers not imported"))
    );
    assert!(
        !inv.groups.contains_key("switches"),
        "only groups of kept hosts"
    );
    assert_eq!(&crate::inventory::parse(&out.yaml).unwrap(), inv);
}

#[test]
fn mistakes_name_file_and_line_and_never_quote_a_value() {
    let bad_yaml = "all:\n  hosts:\n    r1: {ansible_password: Hunter2-secret\n";
    let errs = import_ansible("inv.yml", bad_yaml, &Options::default()).unwrap_err();
    assert_eq!(errs[0].file, "inv.yml");
    assert!(errs[0].line > 0, "{errs:?}");
    assert!(!format!("{errs:?}").contains("Hunter2"), "{errs:?}");

    let bad_ini = "[r]\nr1 ansible_password=Hunter2-secret stray\nr[5:1]\n[r:nope]\n";
    let errs = import_ansible("inv.ini", bad_ini, &Options::default()).unwrap_err();
    let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert!(
        text[0].starts_with("inv.ini:2: after the host name"),
        "{text:?}"
    );
    assert!(
        text[1].starts_with("inv.ini:3: host pattern `r[5:1]`"),
        "{text:?}"
    );
    assert!(text[2].starts_with("inv.ini:4: a section is"), "{text:?}");
    assert!(!text.concat().contains("Hunter2"));

    let port = "all:\n  hosts:\n    r1:\n      ansible_port: twenty-two\n";
    let errs = import_ansible("p.yml", port, &Options::default()).unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "p.yml:4: `ansible_port` of host r1 is not a port number (1-65535)"
    );

    let hosts = (
        "h.yaml".to_string(),
        "r1:\n  groups: [nowhere]\n".to_string(),
    );
    let errs = import_nornir(&[hosts], &Options::default()).unwrap_err();
    assert!(
        errs[0]
            .to_string()
            .starts_with("h.yaml:2: host r1 is in group `nowhere`"),
        "{errs:?}"
    );

    let cycle = "[a:children]\nb\n[b:children]\na\n[b]\nr1\n";
    let errs = import_ansible("c.ini", cycle, &Options::default()).unwrap_err();
    assert!(errs[0].to_string().contains("is its own child"), "{errs:?}");

    for (text, what) in [
        (
            "#!/usr/bin/env python3\nprint('{}')\n",
            "dynamic inventory script",
        ),
        (
            "$ANSIBLE_VAULT;1.1;AES256\n6231\n",
            "encrypted with ansible-vault",
        ),
        ("plugin: amazon.aws.aws_ec2\n", "inventory plugin"),
    ] {
        let errs = import_ansible("x.yml", text, &Options::default()).unwrap_err();
        assert!(errs[0].to_string().contains(what), "{errs:?}");
    }
}

#[test]
fn control_characters_in_notes_are_escaped_not_written_as_yaml() {
    let ini = "[g]\nrtr-1 ansible_host=192.0.2.1 ansible_password=x\n\
               [g:vars]\nfoo\rdns: {servers: [6.6.6.6]}\r#=1\n";
    let out = import_ansible("inv\r.ini", ini, &Options::default()).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&out.yaml).unwrap();
    assert!(doc.get("dns").is_none(), "a note wrote YAML:\n{}", out.yaml);
    assert!(out.inventory.dns.is_none());
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("`foo\\x0ddns: {servers: [6.6.6.6]}\\x0d#`")),
        "{:?}",
        out.notes
    );
    for n in &out.notes {
        assert!(!n.contains('\r'), "{n:?}");
    }
    assert!(out.yaml.contains("inv\\x0d.ini"));
    assert!(!out.yaml.contains('\r'));
}

#[test]
fn scopes_whose_names_map_to_one_variable_get_their_own() {
    let ini = "[hq]\nrtr-1 ansible_password=a\nrtr_1 ansible_password=b\n\
               group-hq ansible_host=192.0.2.9 ansible_password=c\n\
               [hq:vars]\nansible_password=d\n";
    let out = import_ansible("inv.ini", ini, &Options::default()).unwrap();
    let by_name = |n: &str| {
        out.inventory
            .devices
            .iter()
            .find(|d| d.name == n)
            .unwrap()
            .settings
            .password
            .clone()
    };
    assert_eq!(by_name("rtr-1"), env("TSFLEET_PASSWORD_RTR_1"));
    assert_eq!(by_name("rtr_1"), env("TSFLEET_PASSWORD_RTR_1_2"));
    // The group's settings are mapped first (with the first host in it).
    assert_eq!(
        out.inventory.groups["hq"].password,
        env("TSFLEET_PASSWORD_GROUP_HQ")
    );
    assert_eq!(by_name("group-hq"), env("TSFLEET_PASSWORD_GROUP_HQ_2"));
    let names: Vec<&str> = out.env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "TSFLEET_PASSWORD_GROUP_HQ",
            "TSFLEET_PASSWORD_RTR_1",
            "TSFLEET_PASSWORD_RTR_1_2",
            "TSFLEET_PASSWORD_GROUP_HQ_2"
        ]
    );
    for e in ["TSFLEET_PASSWORD_RTR_1_2", "TSFLEET_PASSWORD_GROUP_HQ_2"] {
        assert!(out.yaml.contains(&format!("#   {e} ")), "{}", out.yaml);
    }
}

#[test]
fn nornir_options_of_a_plugin_that_is_not_ssh_are_a_note() {
    let hosts = "rtr-1:\n  hostname: 192.0.2.1\n  port: 22\n  username: admin\n  platform: ios\n  \
                 connection_options:\n    netconf:\n      port: 830\n      username: nc\n      \
                 hostname: 192.0.2.99\n      platform: iosxr\n    scrapli:\n      port: 2222\n";
    let files = [("hosts.yaml".to_string(), hosts.to_string())];
    let out = import_nornir(&files, &Options::default()).unwrap();
    let d = &out.inventory.devices[0];
    assert_eq!(d.host, "192.0.2.1");
    assert_eq!(d.settings.port, Some(2222), "scrapli's port is mapped");
    assert_eq!(d.settings.username.as_deref(), Some("admin"));
    assert!(
        out.notes.iter().any(|n| n
            .starts_with("hosts.yaml:7: `connection_options.netconf` of host rtr-1 not imported")),
        "{:?}",
        out.notes
    );
}

#[test]
fn empty_or_null_platform_and_hostname_are_unset() {
    let hosts = "rtr-1:\n  hostname:\n  platform:\n  password: x\n\
                 rtr-2:\n  hostname: ~\n  platform: ~\n  password: x\n\
                 rtr-3:\n  hostname: null\n  platform: ''\n  password: x\n\
                 rtr-4:\n  hostname: ' '\n  platform: null\n  groups: [g]\n  password: x\n";
    let groups = "g:\n  hostname: 192.0.2.4\n  platform: ios\n";
    let files = [
        ("hosts.yaml".to_string(), hosts.to_string()),
        ("groups.yaml".to_string(), groups.to_string()),
    ];
    let out = import_nornir(&files, &Options::default()).unwrap();
    let hosts: Vec<(&str, &str)> = out
        .inventory
        .devices
        .iter()
        .map(|d| (d.name.as_str(), d.host.as_str()))
        .collect();
    assert_eq!(
        hosts,
        [
            ("rtr-1", "rtr-1"),
            ("rtr-2", "rtr-2"),
            ("rtr-3", "rtr-3"),
            ("rtr-4", "192.0.2.4")
        ]
    );
    let ini = "rtr-5 ansible_host= ansible_network_os= ansible_password=x\n";
    let out = import_ansible("inv.ini", ini, &Options::default()).unwrap();
    assert_eq!(out.inventory.devices[0].host, "rtr-5");
}

#[test]
fn no_host_to_import_says_why_each_was_left_out() {
    let hosts = "sw-1:\n  platform: nxos\nsw-2:\n  platform: junos\n";
    let files = [("hosts.yaml".to_string(), hosts.to_string())];
    let errors = import_nornir(&files, &Options::default()).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "hosts.yaml: no host to import: every host is left out (why follows)",
            "hosts.yaml:2: host sw-1 left out: platform `nxos` is not Cisco IOS or IOS-XE",
            "hosts.yaml:4: host sw-2 left out: platform `junos` is not Cisco IOS or IOS-XE",
        ]
    );
}

#[test]
fn a_deep_tree_of_groups_each_child_of_all_above_imports_at_once() {
    // 40 layers of 3 groups, each a child of all 3 above: 3^40 paths.
    let mut ini = String::from("[l39_0]\nrtr-1 ansible_password=x\n");
    for layer in 0..39 {
        for j in 0..3 {
            ini.push_str(&format!("[l{layer}_{j}:children]\n"));
            for k in 0..3 {
                ini.push_str(&format!("l{}_{k}\n", layer + 1));
            }
        }
    }
    let started = std::time::Instant::now();
    let out = import_ansible("inv.ini", &ini, &Options::default()).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let groups = &out.inventory.devices[0].groups;
    assert_eq!(groups.len(), 3 * 39 + 1);
    assert_eq!(groups[..3], ["l0_0", "l0_1", "l0_2"]);
    assert_eq!(groups.last().map(String::as_str), Some("l39_0"));
}

#[test]
fn an_ios_xe_platform_is_a_note_that_ipv6_would_carry_the_ipv6_items_never_set() {
    let hosts = "edge-1:\n  groups: [xe]\n  password: x\n\
                 edge-2:\n  groups: [xe]\n  password: x\n\
                 edge-3:\n  platform: IOSXE\n  password: x\n\
                 br-1:\n  groups: [xe]\n  platform: cisco_ios\n  password: x\n";
    let groups = "xe:\n  platform: cisco_xe\n";
    let files = [
        ("hosts.yaml".to_string(), hosts.to_string()),
        ("groups.yaml".to_string(), groups.to_string()),
    ];
    let out = import_nornir(&files, &Options::default()).unwrap();
    let xe: Vec<&str> = out
        .notes
        .iter()
        .filter(|n| n.contains("is IOS XE"))
        .map(String::as_str)
        .collect();
    // Once per line that says so (two hosts share the group's), naming
    // where to turn it on; `cisco_ios` may be classic IOS: no note.
    assert_eq!(
        xe,
        [
            "hosts.yaml:8: platform `IOSXE` is IOS XE: `ipv6: true` on host edge-3 would carry the lists' IPv6 items too (object-group v6-network); not set",
            "groups.yaml:2: platform `cisco_xe` is IOS XE: `ipv6: true` on group xe would carry the lists' IPv6 items too (object-group v6-network); not set",
        ]
    );
    let inv = &out.inventory;
    assert!(
        inv.defaults.ipv6.is_none()
            && inv.groups.values().all(|g| g.ipv6.is_none())
            && inv.devices.iter().all(|d| d.settings.ipv6.is_none()),
        "never turned on by the import"
    );

    // Ansible's `cisco.ios.ios` covers classic IOS and IOS XE alike.
    let ini = "[xe]\nrtr-1 ansible_network_os=cisco.ios.ios ansible_password=x\n\
               [xe:vars]\nansible_network_os=cisco_xe\n";
    let out = import_ansible("inv.ini", ini, &Options::default()).unwrap();
    assert!(
        !out.notes.iter().any(|n| n.contains("is IOS XE")),
        "{:?}",
        out.notes
    );
}
