// gSOAP client of the distbank interop test (test/interop-gsoap.test.ts). The proxy class comes
// from `wsdl2h` + `soapcpp2 -j -C` run on the served WSDL, so its default endpoint is the
// balancer's soap:address. The header blocks are the SOAP_ENV__Header members, which gSOAP sends
// with mustUnderstand="1"; a null request-id pointer is "none" (the element is left out).
// Settings come from INTEROP_* environment variables; every step prints one JSON line.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "BankBinding.nsmap"
#include "soapBankBindingProxy.h"

namespace {

const int CALL_TIMEOUT_S = 30;

std::string env(const char *name) {
  const char *value = std::getenv(name);
  if (value == nullptr) throw std::runtime_error(std::string("missing ") + name);
  return value;
}

std::string json(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void print(const std::string &step, std::initializer_list<std::pair<std::string, std::string>> fields) {
  std::string line = "{\"step\":" + json(step);
  for (const auto &f : fields) line += "," + json(f.first) + ":" + json(f.second);
  std::printf("%s}\n", line.c_str());
  std::fflush(stdout);
}

/** After a call that did not return SOAP_OK: the BankFault code from the detail, or the error. */
void printFailure(BankBindingProxy &proxy, const std::string &step) {
  const SOAP_ENV__Fault *fault = proxy.soap->fault;
  const _ns1__BankFault *bank = fault != nullptr && fault->detail != nullptr ? fault->detail->ns1__BankFault : nullptr;
  if (bank != nullptr) {
    print(step, {{"faultCode", soap_ns1__FaultCode2s(proxy.soap, bank->code)}, {"faultMessage", bank->message}});
    return;
  }
  const char *text = proxy.soap_fault_string();
  print(step, {{"error", "gSOAP error " + std::to_string(proxy.soap->error) + ": " + (text != nullptr ? text : "")}});
}

/** Header blocks for the next call; the pointers must live until it returns. */
struct Headers {
  std::string token, client, requestId;
  bool hasRequestId;
  void apply(BankBindingProxy &proxy) {
    proxy.soap_header(&token, &client, hasRequestId ? &requestId : nullptr);
  }
};

void transfer(BankBindingProxy &proxy, const std::string &step, Headers headers, const std::string &amount, bool printAmount) {
  _ns1__Transfer request;
  request.fromAccountId = env("INTEROP_ACCOUNT");
  request.toAccountId = env("INTEROP_TO_ACCOUNT");
  request.amount = amount;
  _ns1__TransferResponse response;
  headers.apply(proxy);
  if (proxy.Transfer(&request, response) != SOAP_OK) return printFailure(proxy, step);
  if (printAmount) print(step, {{"amount", amount}, {"transactionId", response.transactionId}, {"balance", response.balance}});
  else print(step, {{"transactionId", response.transactionId}, {"balance", response.balance}});
}

void getBalance(BankBindingProxy &proxy, const std::string &step, Headers headers, const std::string &account) {
  _ns1__GetBalance request;
  request.accountId = account;
  _ns1__GetBalanceResponse response;
  headers.apply(proxy);
  if (proxy.GetBalance(&request, response) != SOAP_OK) return printFailure(proxy, step);
  print(step, {{"accountId", response.accountId}, {"balance", response.balance}});
}

/**
 * gSOAP maps xsd:decimal to std::string (typemap.dat: xsd__decimal = std::string) and has no
 * decimal arithmetic: a C++ caller formats the amount itself. Integer thousandths with scale 3,
 * as Java's BigDecimal and .NET's decimal would write 0.10 * 0.1.
 */
std::string thousandths(long value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld.%03ld", value / 1000, value % 1000);
  return buf;
}

}  // namespace

int main() {
  try {
    BankBindingProxy proxy;
    proxy.soap->connect_timeout = CALL_TIMEOUT_S;
    proxy.soap->send_timeout = CALL_TIMEOUT_S;
    proxy.soap->recv_timeout = CALL_TIMEOUT_S;
    const std::string token = env("INTEROP_AUTH_TOKEN"), client = env("INTEROP_CLIENT_ID");
    getBalance(proxy, "getBalance", {token, client, "", false}, env("INTEROP_ACCOUNT"));
    for (const char *step : {"transfer", "replay"}) {
      transfer(proxy, step, {token, client, env("INTEROP_REQUEST_ID"), true}, env("INTEROP_AMOUNT"), false);
    }
    getBalance(proxy, "badToken", {env("INTEROP_BAD_TOKEN"), client, "", false}, env("INTEROP_ACCOUNT"));
    getBalance(proxy, "foreignAccount", {token, client, "", false}, env("INTEROP_FOREIGN_ACCOUNT"));
    transfer(proxy, "decimal", {token, client, env("INTEROP_DECIMAL_REQUEST_ID"), true}, thousandths(10), true);
    proxy.destroy();
  } catch (const std::exception &e) {
    print("setup", {{"error", e.what()}});
    return 1;
  }
  return 0;
}
