#pragma once
// Amounts in HKD, USD or CNY and the stated exchange rates that convert between them.
#include <string>
#include <string_view>

namespace aidc::cost {

enum class Currency { HKD, USD, CNY };

std::string_view currency_code(Currency currency);
Currency parse_currency(std::string_view code);  // "HKD" | "USD" | "CNY"; throws std::invalid_argument

struct ExchangeRates {
  double hkd_per_usd = 7.8;  // Hong Kong's Linked Exchange Rate System: 7.75–7.85 band around 7.8
  double cny_per_usd = 7.2;  // 2024–25 range about 7.1–7.3; set the day's rate for a real comparison
};

struct Money {
  double amount = 0;
  Currency currency = Currency::USD;
};

double convert(const Money& money, Currency to, const ExchangeRates& rates);

// "280000 CNY", "4.916 USD", "1.44 HKD" (amount, spaces, code); throws std::invalid_argument naming
// what was expected.
Money parse_money(std::string_view text);

}  // namespace aidc::cost
