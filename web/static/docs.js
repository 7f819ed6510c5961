// Starts Swagger UI on /docs from the vendored bundle: a file, not an inline script, so the
// page keeps the same Content-Security-Policy as every other page.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
