//! The plugin loads from GST_PLUGIN_PATH (as gst-inspect-1.0 sees it) and registers statically.

use std::path::PathBuf;
use std::process::Command;

use gst::prelude::*;

/// target/<profile>, where cargo put the cdylib next to this test's deps/ folder.
fn plugin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .to_path_buf()
}

#[test]
fn gst_inspect_lists_the_plugin_from_gst_plugin_path() {
    let dir = plugin_dir();
    assert!(
        dir.join("libgsth4.so").exists(),
        "no libgsth4.so in {}",
        dir.display()
    );
    let out = Command::new("gst-inspect-1.0")
        .arg("h4")
        .env("GST_PLUGIN_PATH", &dir)
        .env("GST_REGISTRY", dir.join("test-registry.bin"))
        .output()
        .expect("gst-inspect-1.0 runs (gstreamer1.0-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Name                     h4"), "{text}");
    assert!(text.contains("HarmonyØ4"), "{text}");
    assert!(
        text.contains(&format!(
            "Version                  {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    assert!(text.contains("License                  MIT/X11"), "{text}");
}

#[test]
fn static_registration_makes_the_plugin_known() {
    gst::init().unwrap();
    gsth4::plugin_register_static().expect("static registration");
    let plugin = gst::Registry::get()
        .find_plugin("h4")
        .expect("h4 is registered");
    assert_eq!(
        plugin.version().as_str().split('-').next(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert!(plugin.description().contains("HarmonyØ4"));
}

#[test]
fn every_element_is_documented_for_gst_inspect() {
    gst::init().unwrap();
    gsth4::plugin_register_static().expect("static registration");
    let mut names: Vec<String> = gst::Registry::get()
        .features_by_plugin("h4")
        .into_iter()
        .filter_map(|f| f.downcast::<gst::ElementFactory>().ok())
        .map(|f| {
            let name = f.name().to_string();
            for key in [
                gst::ELEMENT_METADATA_KLASS,
                gst::ELEMENT_METADATA_DESCRIPTION,
                gst::ELEMENT_METADATA_LONGNAME,
            ] {
                let v = f.metadata(key).unwrap_or_default();
                assert!(v.len() > 5, "{name}: {key} is {v:?}");
            }
            let e = f.create().build().unwrap();
            for p in e.list_properties() {
                // The element's own properties, not those of GstObject or a base class.
                if p.owner_type() != e.type_() {
                    continue;
                }
                let blurb = p.blurb().unwrap_or_default();
                assert!(
                    blurb.len() > 20 && blurb != p.nick(),
                    "{name}.{}: blurb {blurb:?}",
                    p.name()
                );
            }
            name
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "h4fftfilter",
            "h4mask",
            "h4mkdemux",
            "h4mkmux",
            "h4tokentext"
        ]
    );
}

/// What gst-inspect-1.0 prints of each element (from the installed-style plugin, not the
/// static registration): klass, every pad template, and every property of the element's own
/// with its full description.
#[test]
fn gst_inspect_shows_klass_pad_templates_and_property_docs() {
    gst::init().unwrap();
    gsth4::plugin_register_static().expect("static registration");
    let dir = plugin_dir();
    for (name, klass) in [
        ("h4mkmux", "Codec/Muxer"),
        ("h4mkdemux", "Codec/Demuxer"),
        ("h4fftfilter", "Filter/Analyzer/Audio"),
        ("h4mask", "Filter/Encryptor/Decryptor"),
    ] {
        let out = Command::new("gst-inspect-1.0")
            .arg(name)
            .env("GST_PLUGIN_PATH", &dir)
            .env("GST_REGISTRY", dir.join("test-registry.bin"))
            .output()
            .expect("gst-inspect-1.0 runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {text}");
        let factory = gst::ElementFactory::find(name).unwrap();
        assert!(
            text.contains(&format!("Klass                    {klass}")),
            "{name}: {text}"
        );
        let templates = factory.static_pad_templates();
        assert!(!templates.is_empty(), "{name} has pad templates");
        for t in templates {
            let dir = match t.direction() {
                gst::PadDirection::Src => "SRC",
                _ => "SINK",
            };
            let line = format!("{dir} template: '{}'", t.name_template());
            assert!(text.contains(&line), "{name}: no {line:?} in\n{text}");
        }
        let e = factory.create().build().unwrap();
        let mut own = 0;
        for p in e.list_properties() {
            if p.owner_type() != e.type_() {
                continue;
            }
            own += 1;
            let line = format!("  {:<20}: {}", p.name(), p.blurb().unwrap());
            assert!(text.contains(&line), "{name}: no {line:?} in\n{text}");
        }
        assert!(own > 0, "{name} has properties of its own");
    }
}

/// `scripts/install.sh --user` puts the plugin where GStreamer looks by itself: found with no
/// GST_PLUGIN_PATH (and a fresh registry); `--uninstall` takes it away again.
#[test]
fn install_script_puts_the_plugin_where_gstreamer_finds_it() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("share");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install.sh");
    let run = |args: &[&str]| {
        let out = Command::new(&script)
            .args(args)
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", &data)
            .output()
            .unwrap();
        assert!(out.status.success(), "install.sh {args:?}: {out:?}");
    };
    run(&["--user", "--no-build"]);
    assert!(data.join("gstreamer-1.0/plugins/libgsth4.so").exists());
    assert!(home.path().join(".local/bin/h4mk").exists());
    // Man pages that man renders, and completions for bash, zsh and fish.
    let man = data.join("man/man1");
    for page in ["h4mk.1", "h4mk-verify.1", "h4mk-sign.1", "h4mk-prove.1"] {
        assert!(man.join(page).exists(), "{page}");
    }
    let out = Command::new("man")
        .args(["-l", &man.join("h4mk-verify.1").display().to_string()])
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--trust") && text.contains("h4mk-verify"),
        "{text}"
    );
    let bash = data.join("bash-completion/completions/h4mk");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(h4mk ver); COMP_CWORD=1; _h4mk h4mk ver h4mk; echo \"${{COMPREPLY[@]}}\"",
            bash.display()
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "verify",
        "{out:?}"
    );
    let zsh = data.join("zsh/site-functions/_h4mk");
    assert!(
        std::fs::read_to_string(&zsh)
            .unwrap()
            .starts_with("#compdef h4mk")
    );
    let out = Command::new("zsh").arg("-n").arg(&zsh).output().unwrap();
    assert!(out.status.success(), "zsh -n: {out:?}");
    // fish finds the installed file by itself and completes the subcommands from it.
    let path = format!(
        "{}:{}",
        home.path().join(".local/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("fish")
        .args(["-c", "complete -C 'h4mk che'"])
        .env("PATH", path)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .output()
        .unwrap();
    let fish = String::from_utf8_lossy(&out.stdout);
    assert!(fish.starts_with("check-proof"), "{out:?}");
    let inspect = || {
        Command::new("gst-inspect-1.0")
            .arg("h4mkmux")
            .env_remove("GST_PLUGIN_PATH")
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", &data)
            .env("GST_REGISTRY", home.path().join("registry.bin"))
            .output()
            .unwrap()
    };
    let out = inspect();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("H4MK muxer"),
        "{out:?}"
    );
    run(&["--user", "--uninstall"]);
    assert!(!data.join("gstreamer-1.0/plugins/libgsth4.so").exists());
    assert!(!man.join("h4mk.1").exists() && !bash.exists());
    assert!(!inspect().status.success(), "gone after --uninstall");
}
