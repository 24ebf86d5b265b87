# The worker image: the compiled promoter (dist/ with its prebuilt workflow bundle) and its
# production dependencies on node:24-slim, run as an unprivileged user. No TypeScript, no sources.
#
#   docker build --build-arg BUILD_ID="0.1.0-$(git rev-parse --short=12 HEAD)" -t promoter-worker:0.1.0 .
#
# BUILD_ID names this build as a Temporal Worker Deployment version (the build context has no .git
# to take the commit from); without it the build id is the version and a hash of the sources.

FROM node:24-slim AS build
WORKDIR /src
# Install scripts stay off: the toolchain's native parts come as optional platform packages, and
# the `node` devDependency's own download is not needed where Node 24 is the base image.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY bin/build-state.js bin/build-state.d.ts ./bin/
COPY scripts/build.ts ./scripts/
COPY lib ./lib
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY client ./client
ARG BUILD_ID=""
RUN BUILD_ID="${BUILD_ID}" npm run build && npm prune --omit=dev --no-audit --no-fund --ignore-scripts

FROM node:24-slim
ENV NODE_ENV=production \
    PROMOTER_WORKER_VERSIONING=on \
    PROMOTER_METRICS_ADDRESS=0.0.0.0:9464
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Numeric, so Kubernetes' runAsNonRoot can check it; the files stay root-owned and read-only to it.
USER 10001:10001
EXPOSE 9464
ENTRYPOINT ["node", "dist/client/cli.js"]
CMD ["worker"]
