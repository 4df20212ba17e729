"""REST handlers, one module per resource; each exports its ENDPOINTS."""
