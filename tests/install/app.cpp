// app.cpp: the C++ counterpart of app.c, built by tests/install/run.sh through pkg-config
// and CMake. The handles live in std::unique_ptr with the library's release functions.
//
// Usage: app DIR   (DIR must not exist yet; the program leaves it behind)
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "quiver.h"

namespace {

void check(qv_status st, const char *call) {
  if (st == QV_OK) return;
  char msg[512];
  size_t len = 0;
  qv_last_error(msg, sizeof msg, &len);
  throw std::runtime_error(std::string(call) + ": " + qv_status_str(st) + ": " + msg);
}
#define CHECK(call) check((call), #call)

struct CloseDb {
  void operator()(qv_db *db) const { qv_close(db); }
};
struct Rollback {
  void operator()(qv_txn *txn) const { qv_txn_rollback(txn); }
};
using Db = std::unique_ptr<qv_db, CloseDb>;
using Txn = std::unique_ptr<qv_txn, Rollback>;

Db open(const std::string &path) {
  qv_db *db = nullptr;
  CHECK(qv_open(path.c_str(), nullptr, &db));
  return Db(db);
}

Txn begin(qv_db *db, uint32_t flags) {
  qv_txn *txn = nullptr;
  CHECK(qv_txn_begin(db, flags, &txn));
  return Txn(txn);
}

std::string name_of(qv_txn *txn, qv_node_id id) {
  qv_value v;
  CHECK(qv_node_get(txn, id, "name", &v));
  if (v.type != QV_TYPE_STRING) throw std::runtime_error("name is not a string");
  return std::string(reinterpret_cast<const char *>(v.as.bytes.ptr), v.as.bytes.len);
}

}  // namespace

int main(int argc, char **argv) try {
  if (argc != 2) throw std::runtime_error("usage: app DIR");
  if (std::string(qv_version()) != QV_VERSION_STRING)
    throw std::runtime_error("header and library versions differ");

  const std::string path = argv[1];
  qv_node_id ada = 0;
  {
    Db db = open(path);
    Txn txn = begin(db.get(), 0);
    const std::string name = "ada";
    qv_value v{};
    v.type = QV_TYPE_STRING;
    v.as.bytes.ptr = reinterpret_cast<const uint8_t *>(name.data());
    v.as.bytes.len = name.size();
    CHECK(qv_node_insert(txn.get(), "Person", &ada));
    CHECK(qv_node_set(txn.get(), ada, "name", &v));
    CHECK(qv_txn_commit(txn.release()));  // commit consumes the transaction

    Txn read = begin(db.get(), QV_TXN_READ_ONLY);
    if (name_of(read.get(), ada) != "ada") throw std::runtime_error("wrong name");
  }
  Db db = open(path);  // reopening runs recovery
  Txn read = begin(db.get(), QV_TXN_READ_ONLY);
  if (name_of(read.get(), ada) != "ada") throw std::runtime_error("wrong name after reopening");
  std::printf("C++ program, libquiver %s: wrote, committed, read back, reopened: ok\n",
              qv_version());
  return 0;
} catch (const std::exception &e) {
  std::fprintf(stderr, "app.cpp: %s\n", e.what());
  return 1;
}
