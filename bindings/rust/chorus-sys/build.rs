//! Builds (or finds) libchorus, the Chorus C ABI, and tells cargo how to link it.
//!
//! 1. `CHORUS_LIB_DIR`: link the prebuilt `libchorus.a` (or `libchorus.so`) there.
//! 2. Inside the Chorus repository (a parent directory holds the `github.com/chorus-im/chorus`
//!    go.mod, or `CHORUS_GO_MODULE` names it): `go build -buildmode=c-archive ./bindings/c`.
//! 3. Otherwise: copy `go/` (the same shim) to `OUT_DIR`, resolve the Chorus module through
//!    the Go module proxy and build it there.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const MODULE: &str = "github.com/chorus-im/chorus";
const SYSTEM_LIBS: [&str; 4] = ["pthread", "dl", "m", "resolv"];

fn main() {
    println!("cargo:rerun-if-env-changed=CHORUS_LIB_DIR");
    println!("cargo:rerun-if-env-changed=CHORUS_GO_MODULE");
    println!("cargo:rerun-if-env-changed=GO");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));

    if let Some(dir) = env::var_os("CHORUS_LIB_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        let lib = dir.join("libchorus.a");
        println!("cargo:rerun-if-changed={}", lib.display());
        println!("cargo:rustc-link-search=native={}", dir.display());
        if lib.exists() {
            link_static();
        } else if dir.join("libchorus.so").exists() {
            println!("cargo:rustc-link-lib=dylib=chorus");
        } else {
            panic!("chorus-sys: CHORUS_LIB_DIR={} holds neither libchorus.a nor libchorus.so", dir.display());
        }
        println!("cargo:include={}", manifest.join("go").display());
        return;
    }

    let go = env::var("GO").unwrap_or_else(|_| "go".to_string());
    let archive = out.join("libchorus.a");
    let (dir, package) = match module_root(&manifest) {
        Some(root) => {
            for f in ["abi.go", "client.go", "transports.go", "events.go", "abijson/abijson.go", "chorus.h"] {
                println!("cargo:rerun-if-changed={}", root.join("bindings/c").join(f).display());
            }
            // The engine's sources change too; go's own cache makes an unchanged rebuild fast.
            println!("cargo:rerun-if-changed={}", root.join("go.sum").display());
            (root, "./bindings/c".to_string())
        }
        None => (registry_shim(&go, &manifest, &out), ".".to_string()),
    };
    let status = Command::new(&go)
        .current_dir(&dir)
        .env("CGO_ENABLED", "1")
        .args(["build", "-tags=gowaku_no_rln", "-buildmode=c-archive", "-o"])
        .arg(&archive)
        .arg(&package)
        .status()
        .unwrap_or_else(|e| panic!("chorus-sys: running `{go}` (Go >= 1.25 is needed, or set CHORUS_LIB_DIR): {e}"));
    if !status.success() {
        panic!("chorus-sys: `go build -buildmode=c-archive {package}` in {} failed", dir.display());
    }
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:include={}", manifest.join("go").display());
    link_static();
}

fn link_static() {
    println!("cargo:rustc-link-lib=static=chorus");
    for l in SYSTEM_LIBS {
        println!("cargo:rustc-link-lib=dylib={l}");
    }
}

/// The Chorus Go module enclosing the crate (or CHORUS_GO_MODULE), if any.
fn module_root(manifest: &Path) -> Option<PathBuf> {
    if let Some(dir) = env::var_os("CHORUS_GO_MODULE").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let mut dir = manifest.parent();
    while let Some(d) = dir {
        if let Ok(gomod) = fs::read_to_string(d.join("go.mod")) {
            if gomod.lines().any(|l| l.trim() == format!("module {MODULE}")) {
                return Some(d.to_path_buf());
            }
        }
        dir = d.parent();
    }
    None
}

/// Copies go/ to OUT_DIR/go and resolves its dependencies through the module proxy.
fn registry_shim(go: &str, manifest: &Path, out: &Path) -> PathBuf {
    let src = manifest.join("go");
    let dst = out.join("go");
    fs::create_dir_all(&dst).expect("chorus-sys: creating OUT_DIR/go");
    for entry in fs::read_dir(&src).expect("chorus-sys: reading go/") {
        let path = entry.expect("chorus-sys: reading go/").path();
        println!("cargo:rerun-if-changed={}", path.display());
        if let Some(name) = path.file_name() {
            fs::copy(&path, dst.join(name)).expect("chorus-sys: copying go/");
        }
    }
    let status = Command::new(go)
        .current_dir(&dst)
        .args(["mod", "tidy"])
        .status()
        .unwrap_or_else(|e| panic!("chorus-sys: running `{go} mod tidy` (Go >= 1.25 is needed, or set CHORUS_LIB_DIR): {e}"));
    if !status.success() {
        panic!("chorus-sys: `go mod tidy` in {} failed (is the Go module proxy reachable?)", dst.display());
    }
    dst
}
