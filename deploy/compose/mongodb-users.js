// Run once by the mongo image on an empty data directory (/docker-entrypoint-initdb.d), logged in
// as the root user of MONGO_INITDB_ROOT_*: one user per service, allowed its own database only.
// Passwords come from the generated secrets; the services read their URIs from the same volume.
const fs = require("fs");
const services = {
  registry: "binhyen_registry",
  incidents: "binhyen_incidents",
  notifications: "binhyen_notifications",
};
for (const [service, database] of Object.entries(services)) {
  const pwd = fs.readFileSync(`/run/binhyen-secrets/mongodb-${service}-password`, "utf8").trim();
  db.getSiblingDB(database).createUser({
    user: `binhyen-${service}`,
    pwd,
    roles: [{ role: "readWrite", db: database }],
  });
}
