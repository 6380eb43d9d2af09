# One build for the whole workspace, then one small runtime image per service.
# The base image is a build arg so machines without a registry can supply their own.
ARG NODE_IMAGE=node:24.11.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first: the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
COPY contracts/package.json contracts/
COPY breaker/package.json breaker/
COPY shared/package.json shared/
COPY payment-gateway/package.json payment-gateway/
COPY payments/package.json payments/
COPY orders/package.json orders/
COPY load-generator/package.json load-generator/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY contracts/ contracts/
COPY breaker/ breaker/
COPY shared/ shared/
COPY payment-gateway/ payment-gateway/
COPY payments/ payments/
COPY orders/ orders/
COPY load-generator/ load-generator/
# The deployables only: the lab command line, the tests and the dashboards are not in the images.
RUN npx tsc -b payment-gateway payments orders load-generator \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/contracts/package.json contracts/
COPY --from=build /app/contracts/dist/ contracts/dist/
COPY --from=build /app/breaker/package.json breaker/
COPY --from=build /app/breaker/dist/ breaker/dist/
COPY --from=build /app/shared/package.json shared/
COPY --from=build /app/shared/dist/ shared/dist/
# The image's unprivileged user (uid 1000 in the official and stand-in Node images).
USER node
ENV PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --retries=12 CMD ["node", "shared/dist/healthcheck.js"]

FROM runtime AS payment-gateway
COPY --from=build /app/payment-gateway/package.json payment-gateway/
COPY --from=build /app/payment-gateway/dist/ payment-gateway/dist/
CMD ["node", "payment-gateway/dist/main.js"]

FROM runtime AS payments
COPY --from=build /app/payments/package.json payments/
COPY --from=build /app/payments/dist/ payments/dist/
CMD ["node", "payments/dist/main.js"]

FROM runtime AS orders
COPY --from=build /app/orders/package.json orders/
COPY --from=build /app/orders/dist/ orders/dist/
CMD ["node", "orders/dist/main.js"]

FROM runtime AS load-generator
COPY --from=build /app/load-generator/package.json load-generator/
COPY --from=build /app/load-generator/dist/ load-generator/dist/
CMD ["node", "load-generator/dist/main.js"]
