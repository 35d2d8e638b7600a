//! Compiles `src/convert.cpp` against the system OpenCASCADE (Debian's libocct-*-dev, headers
//! in /usr/include/opencascade) and links the toolkits it calls.

fn main() {
    let include =
        std::env::var("OCCT_INCLUDE_DIR").unwrap_or_else(|_| "/usr/include/opencascade".to_owned());
    println!("cargo:rerun-if-changed=src/convert.cpp");
    let header = std::path::Path::new(&include).join("STEPCAFControl_Reader.hxx");
    if !header.is_file() {
        panic!(
            "OpenCASCADE's headers are not in {include} (no STEPCAFControl_Reader.hxx): install \
             the Debian package libocct-data-exchange-dev (scripts/deps.sh, BUILD_PACKAGES), \
             or set OCCT_INCLUDE_DIR and OCCT_LIB_DIR"
        );
    }
    println!("cargo:rerun-if-env-changed=OCCT_INCLUDE_DIR");
    println!("cargo:rerun-if-env-changed=OCCT_LIB_DIR");
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .file("src/convert.cpp")
        .include(&include)
        // OCCT's headers warn on their own code with newer compilers.
        .flag_if_supported("-Wno-deprecated-declarations")
        .compile("workflow_step_convert");
    if let Ok(dir) = std::env::var("OCCT_LIB_DIR") {
        println!("cargo:rustc-link-search=native={dir}");
    }
    for toolkit in [
        "TKXDESTEP",
        "TKSTEP",
        "TKSTEPAttr",
        "TKSTEP209",
        "TKSTEPBase",
        "TKXSBase",
        "TKRWMesh",
        "TKXCAF",
        "TKCAF",
        "TKLCAF",
        "TKCDF",
        "TKV3d",
        "TKService",
        "TKMesh",
        "TKTopAlgo",
        "TKGeomAlgo",
        "TKBRep",
        "TKGeomBase",
        "TKG3d",
        "TKG2d",
        "TKMath",
        "TKernel",
    ] {
        println!("cargo:rustc-link-lib=dylib={toolkit}");
    }
}
