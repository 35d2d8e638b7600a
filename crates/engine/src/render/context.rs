//! Headless OpenGL 3.3 core context on EGL's surfaceless platform (Mesa llvmpipe without a
//! GPU, the vendor's EGL with one). No window, no display server, no env vars.
//!
//! The only module with `unsafe`: EGL's platform display lookup and GL function loading are
//! FFI calls that the khronos-egl and glow crates mark unsafe. Nothing else here is unsafe.
#![allow(unsafe_code)]

use std::sync::Arc;

use khronos_egl as egl;

use super::RenderError;

/// `EGL_PLATFORM_SURFACELESS_MESA`.
const PLATFORM_SURFACELESS_MESA: egl::Enum = 0x31DD;

/// An EGL display + context and the three-d context on top of it.
pub struct HeadlessContext {
    egl: egl::Instance<egl::Static>,
    display: egl::Display,
    context: egl::Context,
    gl: three_d::Context,
}

fn egl_err(step: &str) -> impl Fn(egl::Error) -> RenderError + '_ {
    move |e| RenderError::Context(format!("{step}: {e}"))
}

impl HeadlessContext {
    pub fn new() -> Result<Self, RenderError> {
        let egl = egl::Instance::new(egl::Static);
        // SAFETY: DEFAULT_DISPLAY is the documented native display for the surfaceless
        // platform and the attribute list is NONE-terminated.
        let surfaceless = unsafe {
            egl.get_platform_display(
                PLATFORM_SURFACELESS_MESA,
                egl::DEFAULT_DISPLAY,
                &[egl::ATTRIB_NONE],
            )
        }
        .map_err(egl_err("eglGetPlatformDisplay(surfaceless)"))
        .and_then(|d| {
            egl.initialize(d)
                .map(|_| d)
                .map_err(egl_err("eglInitialize(surfaceless)"))
        });
        let display = match surfaceless {
            Ok(d) => d,
            // EGLs without the Mesa surfaceless platform: the default display (headless on
            // NVIDIA's EGL, surfaceless on Mesa without a display server).
            Err(first) => {
                // SAFETY: EGL_DEFAULT_DISPLAY is always a valid argument.
                let d = unsafe { egl.get_display(egl::DEFAULT_DISPLAY) }.ok_or_else(|| {
                    RenderError::Context(format!("{first}; no default EGL display either"))
                })?;
                egl.initialize(d).map_err(|e| {
                    RenderError::Context(format!("{first}; eglInitialize(default display): {e}"))
                })?;
                d
            }
        };
        egl.bind_api(egl::OPENGL_API)
            .map_err(egl_err("eglBindAPI(OpenGL)"))?;
        let config_attribs = [
            egl::SURFACE_TYPE,
            0,
            egl::RENDERABLE_TYPE,
            egl::OPENGL_BIT,
            egl::RED_SIZE,
            8,
            egl::GREEN_SIZE,
            8,
            egl::BLUE_SIZE,
            8,
            egl::ALPHA_SIZE,
            8,
            egl::NONE,
        ];
        let config = egl
            .choose_first_config(display, &config_attribs)
            .map_err(egl_err("eglChooseConfig"))?
            .ok_or_else(|| RenderError::Context("no surfaceless OpenGL EGL config".into()))?;
        let context_attribs = [
            egl::CONTEXT_MAJOR_VERSION,
            3,
            egl::CONTEXT_MINOR_VERSION,
            3,
            egl::CONTEXT_OPENGL_PROFILE_MASK,
            egl::CONTEXT_OPENGL_CORE_PROFILE_BIT,
            egl::NONE,
        ];
        let context = egl
            .create_context(display, config, None, &context_attribs)
            .map_err(egl_err("eglCreateContext(3.3 core)"))?;
        egl.make_current(display, None, None, Some(context))
            .map_err(egl_err("eglMakeCurrent"))?;
        // SAFETY: the context is current on this thread; the loader returns EGL's pointers.
        let gl = unsafe {
            glow::Context::from_loader_function(|name| {
                egl.get_proc_address(name)
                    .map_or(std::ptr::null(), |f| f as *const std::ffi::c_void)
            })
        };
        let gl = three_d::Context::from_gl_context(Arc::new(gl))
            .map_err(|e| RenderError::Context(format!("three-d context: {e}")))?;
        Ok(HeadlessContext {
            egl,
            display,
            context,
            gl,
        })
    }

    pub fn gl(&self) -> &three_d::Context {
        &self.gl
    }

    /// Makes the context current on the calling thread.
    pub fn make_current(&self) -> Result<(), RenderError> {
        self.egl
            .make_current(self.display, None, None, Some(self.context))
            .map_err(egl_err("eglMakeCurrent"))
    }

    /// `GL_MAX_SAMPLES` and `GL_MAX_TEXTURE_SIZE`.
    pub fn limits(&self) -> (u32, u32) {
        use glow::HasContext;
        // SAFETY: plain state queries on the current context.
        let (samples, size) = unsafe {
            (
                self.gl.get_parameter_i32(glow::MAX_SAMPLES),
                self.gl.get_parameter_i32(glow::MAX_TEXTURE_SIZE),
            )
        };
        (samples.max(1) as u32, size.max(1) as u32)
    }

    /// GL renderer string (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)").
    pub fn renderer_name(&self) -> String {
        use glow::HasContext;
        // SAFETY: plain state query on the current context.
        unsafe { self.gl.get_parameter_string(glow::RENDERER) }
    }
}

impl Drop for HeadlessContext {
    fn drop(&mut self) {
        // The display is shared process-wide: release our context only, never terminate it.
        let _ = self.egl.make_current(self.display, None, None, None);
        let _ = self.egl.destroy_context(self.display, self.context);
    }
}
