<?php
// PHP SoapClient (ext/soap) client of the distbank interop test (test/interop-php.test.ts).
// SoapClient reads the served WSDL at run time (no cache); header blocks are SoapHeader objects
// in the service namespace. Settings come from INTEROP_* environment variables; every step
// prints one JSON line, a failure included.
declare(strict_types=1);

const NS = 'urn:distbank:bank:v1';

function env(string $name): string {
    $value = getenv($name);
    if ($value === false) throw new RuntimeException("missing $name");
    return $value;
}

function headers(string $token, ?string $requestId): array {
    $h = [new SoapHeader(NS, 'auth-token', $token), new SoapHeader(NS, 'client-id', env('INTEROP_CLIENT_ID'))];
    if ($requestId !== null) $h[] = new SoapHeader(NS, 'request-id', $requestId);
    return $h;
}

function out(string $step, array $fields): void {
    echo json_encode(['step' => $step] + $fields, JSON_UNESCAPED_SLASHES), "\n";
}

/** A step that fails prints its error and the next step still runs. */
function step(string $name, callable $body): void {
    try {
        out($name, $body());
    } catch (SoapFault $f) {
        $code = $f->detail->BankFault->code ?? null;
        out($name, $code === null ? ['error' => "SoapFault {$f->faultcode}: {$f->getMessage()}"] : ['faultCode' => $code, 'faultMessage' => $f->detail->BankFault->message ?? '']);
    } catch (Throwable $e) {
        out($name, ['error' => get_class($e) . ': ' . $e->getMessage()]);
    }
}

ini_set('soap.wsdl_cache_enabled', '0');
ini_set('default_socket_timeout', '30');  // seconds, per call
$client = new SoapClient(env('INTEROP_WSDL_URL'), ['cache_wsdl' => WSDL_CACHE_NONE, 'exceptions' => true, 'trace' => false]);
$token = env('INTEROP_AUTH_TOKEN');
$from = env('INTEROP_ACCOUNT');
$to = env('INTEROP_TO_ACCOUNT');

function transfer(SoapClient $client, string $token, string $from, string $to, string $amount, string $requestId): array {
    $r = $client->__soapCall('Transfer', [['fromAccountId' => $from, 'toAccountId' => $to, 'amount' => $amount]], null, headers($token, $requestId));
    return ['transactionId' => $r->transactionId, 'balance' => (string) $r->balance];
}

step('getBalance', function () use ($client, $token, $from) {
    $r = $client->__soapCall('GetBalance', [['accountId' => $from]], null, headers($token, null));
    return ['accountId' => $r->accountId, 'balance' => (string) $r->balance];
});
foreach (['transfer', 'replay'] as $name) {
    step($name, fn () => transfer($client, $token, $from, $to, env('INTEROP_AMOUNT'), env('INTEROP_REQUEST_ID')));
}
step('badToken', function () use ($client, $from) {
    $client->__soapCall('GetBalance', [['accountId' => $from]], null, headers(env('INTEROP_BAD_TOKEN'), null));
    return ['error' => 'no fault'];
});
step('foreignAccount', function () use ($client, $token) {
    $client->__soapCall('GetBalance', [['accountId' => env('INTEROP_FOREIGN_ACCOUNT')]], null, headers($token, null));
    return ['error' => 'no fault'];
});
step('decimal', function () use ($client, $token, $from, $to) {
    // PHP has no decimal type (bcmath is not part of php-cli) and a float must not carry money,
    // so a PHP caller formats the decimal string itself: here integer thousandths with scale 3,
    // 10/1000 as "0.010", the form Java's BigDecimal and .NET's decimal produce.
    $thousandths = 10;
    $amount = sprintf('%d.%03d', intdiv($thousandths, 1000), $thousandths % 1000);
    return ['amount' => $amount] + transfer($client, $token, $from, $to, $amount, env('INTEROP_DECIMAL_REQUEST_ID'));
});
