# One image for both services: the TypeScript web service (the default CMD,
# which spawns its own Python sidecar) and, in docker-compose.yml, the model
# service (the same image running `python3 -m faceattr`). CPU by default.
#
#   docker build -t faceattr .
#   docker run --init -p 7860:7860 faceattr      # then open http://localhost:7860
#
# Base: node:20-bookworm-slim, i.e. Debian bookworm with Node 20 (>= 20.19, as
# package.json's engines asks). Debian's own nodejs in bookworm is 18, too old.
# The Python side uses bookworm's packages, installed by the same script and
# list as `make install` (deps/debian-run.txt).

ARG NODE_IMAGE=node:20-bookworm-slim

# --- npm packages, production only (tsx runs the TypeScript at run time) ---
FROM ${NODE_IMAGE} AS node-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app

COPY deps/debian-run.txt deps/
COPY scripts/install-debian-deps.sh scripts/
RUN scripts/install-debian-deps.sh deps/debian-run.txt \
  && rm -rf /var/lib/apt/lists/*

# Optional CUDA build of torch for the GPU variant (docker-compose.gpu.yml):
# Debian's python3-torch is built without CUDA. Left empty, the image keeps
# the Debian packages. Installed into /usr/local, which /usr/bin/python3
# searches before the Debian packages.
ARG TORCH_INDEX_URL=
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends python3-pip \
      && /usr/bin/python3 -m pip install --no-cache-dir \
        --break-system-packages --index-url "$TORCH_INDEX_URL" \
        torch torchvision \
      && apt-get purge -y python3-pip && apt-get autoremove -y \
      && rm -rf /var/lib/apt/lists/*; \
    fi

COPY --from=node-deps /app/node_modules node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY configs configs
COPY ts ts
COPY python python
COPY scripts scripts
# The default checkpoint and its model card, so the image serves real
# predictions without training or any download.
COPY models models

# HOST: listen on all interfaces inside the container.
# FACEATTR_PRETRAINED empty: no ImageNet file here; the served checkpoint
# has the whole model, and training happens outside the image.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=7860 \
    FACEATTR_PRETRAINED= \
    PYTHONDONTWRITEBYTECODE=1

# The node image's unprivileged user (uid 1000).
USER node
EXPOSE 7860

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||7860)+'/readyz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

# One process (tsx as a loader, not a wrapper), so signals reach the server.
CMD ["node", "--import", "tsx", "ts/cli/serve.ts"]
