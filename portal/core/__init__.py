"""Cross-cutting helpers: time, errors, permissions, forms, security headers."""
