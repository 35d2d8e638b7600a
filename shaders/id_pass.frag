// Id-buffer pass: every fragment gets its drawable's id (1-based, 24 bits in RGB, alpha 1),
// written unblended into an RGBA8 target; 0 means background. Picking in the viewer and the
// material-consistency tests read it back (workflow_engine::render::id_pass).
uniform vec4 drawableId;

layout (location = 0) out vec4 outColor;

void main()
{
    outColor = drawableId;
}
