# The control plane's image for Docker hosts (docker-compose.yml). The first
# stage builds the browser desktop; the image itself needs no Node.
FROM node:20-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
# vite.config.ts writes the build into ../controlplane/webui
RUN npm run build

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY controlplane ./controlplane
COPY --from=web /src/controlplane/webui ./controlplane/webui
RUN pip install --no-cache-dir . && useradd --system --no-create-home controlplane
USER controlplane
CMD ["controlplane", "serve", "--config", "/etc/controlplane/demo.toml"]
