# The service image for docker-compose.yml: what `npm install && npm start` does on a developer's machine.
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build
EXPOSE 3000
# The compiled service with plain node, as `npm start` runs it after building.
CMD ["node", "dist/main.js"]
