// Missing-material placeholder: unlit diagonal world-space stripes of the placeholder colour
// and a dark shade of it, unmistakable under any lighting. Used by the headless renderer and
// the desktop viewer alike (workflow_engine::render::materials::PlaceholderMaterial).
uniform vec4 loudColor;   // linear RGBA
uniform vec4 darkColor;   // linear RGBA
uniform float stripeWidth; // world units per stripe pair

in vec3 pos;

layout (location = 0) out vec4 outColor;

void main()
{
    float s = fract((pos.x + pos.y + pos.z) / stripeWidth);
    outColor = s < 0.5 ? loudColor : darkColor;
    outColor.rgb = color_mapping(outColor.rgb);
}
