// Run once by the mongo image on an empty data directory (/docker-entrypoint-initdb.d), logged in
// as the root user of MONGO_INITDB_ROOT_*: one user per service, allowed its own database only.
// Passwords come from the generated secrets; the services read their URIs from the same volume.
// Users that exist are kept, so an operator can run it again to add a new service's user to an
// existing installation (docs/operations.md, "Deploying"); db.getUser answers null for a user
// that does not exist (mongosh reference, db.getUser()).
const fs = require("fs");
const services = {
  registry: "binhyen_registry",
  incidents: "binhyen_incidents",
  notifications: "binhyen_notifications",
  reporting: "binhyen_reporting",
};
for (const [service, database] of Object.entries(services)) {
  const user = `binhyen-${service}`;
  if (db.getSiblingDB(database).getUser(user) !== null) {
    continue;
  }
  const pwd = fs.readFileSync(`/run/binhyen-secrets/mongodb-${service}-password`, "utf8").trim();
  db.getSiblingDB(database).createUser({
    user,
    pwd,
    roles: [{ role: "readWrite", db: database }],
  });
}
