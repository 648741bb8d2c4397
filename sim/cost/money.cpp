#include "cost/money.hpp"

#include <charconv>
#include <stdexcept>

namespace aidc::cost {
namespace {

double per_usd(Currency currency, const ExchangeRates& rates) {
  switch (currency) {
    case Currency::USD: return 1.0;
    case Currency::HKD: return rates.hkd_per_usd;
    case Currency::CNY: return rates.cny_per_usd;
  }
  throw std::invalid_argument("unknown currency");
}

}  // namespace

std::string_view currency_code(Currency currency) {
  switch (currency) {
    case Currency::HKD: return "HKD";
    case Currency::USD: return "USD";
    case Currency::CNY: return "CNY";
  }
  throw std::invalid_argument("unknown currency");
}

Currency parse_currency(std::string_view code) {
  for (Currency c : {Currency::HKD, Currency::USD, Currency::CNY})
    if (code == currency_code(c)) return c;
  throw std::invalid_argument("expected a currency HKD, USD or CNY, got '" + std::string(code) + "'");
}

double convert(const Money& money, Currency to, const ExchangeRates& rates) {
  return money.amount / per_usd(money.currency, rates) * per_usd(to, rates);
}

Money parse_money(std::string_view text) {
  const auto expected = [&] {
    return std::invalid_argument("expected an amount and a currency such as '280000 CNY', got '" +
                                 std::string(text) + "'");
  };
  const auto space = text.find(' ');
  if (space == std::string_view::npos) throw expected();
  const std::string_view number = text.substr(0, space);
  std::string_view code = text.substr(space);
  while (!code.empty() && code.front() == ' ') code.remove_prefix(1);
  Money money;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), money.amount);
  if (ec != std::errc() || end != number.data() + number.size()) throw expected();
  money.currency = parse_currency(code);
  return money;
}

}  // namespace aidc::cost
