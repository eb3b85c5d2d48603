# The example memory service under the one-line preload. Build context: the repository root.
FROM node:20.19.5-bookworm-slim
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npx tsc -b examples/memory-service
ENV NODE_ENV=production
EXPOSE 3000
CMD ["node", "--require", "@mem0-stack/otel/register", "examples/memory-service/dist/server.js"]
