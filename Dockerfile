# syntax=docker/dockerfile:1
# The chatd image. It is built from the package as npm ships it (bin/, dist/, the shrinkwrap), so
# the same file builds from a checkout (after `npm ci`, which compiles dist/) and from an installed
# package (`chat infra up`), which has no TypeScript sources.
#   docker build -t chatd .
#   docker run -p 127.0.0.1:3000:3000 -v chatd-data:/data chatd
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# Dependencies before sources: editing the code reuses this layer. No install scripts and no
# compiler: argon2 ships prebuilt binaries, and on Node 24 the embedded store is node:sqlite
# (better-sqlite3, Node 20's driver, stays unbuilt and is never loaded).
COPY package.json npm-shrinkwrap.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && node -e "require('argon2')" \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    CHAT_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json npm-shrinkwrap.json LICENSE ./
COPY bin ./bin
COPY dist ./dist
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
USER node
# The SQLite file and generated secrets of the embedded deployment (unused in scale-out).
VOLUME ["/data"]
EXPOSE 3000
# /readyz: the engines answer and the node takes traffic (it fails while draining after SIGTERM).
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# chatd drains on SIGTERM (stops accepting, flushes what it accepted) and exits 0.
STOPSIGNAL SIGTERM
CMD ["node", "bin/chatd.js", "start"]
